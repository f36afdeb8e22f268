import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { Context } from "../core/context.js";
import { AssetServer, assetsPathPrefix, isStaticRequestPath, type AssetRequest, type AssetResponse } from "./static-files.js";
import type { DevBackends, DevLog } from "./backends.js";
import type { DevRuntime } from "./dev-runtime.js";
import { assetsPolicy, pagesPolicy, throughTheEdge } from "./edge.js";
import { httpRequestToEvent, type ApiGatewayV2Event } from "./event.js";
import { FastCgiClient, FastCgiOutputTooLargeError, FastCgiTimeoutError, type FastCgiReceiver, type FastCgiResponse } from "./fastcgi/client.js";
import { eventToFastCgiRequest } from "./fastcgi-params.js";
import type { HttpConnection, IncomingRequest, OutgoingResponse } from "./http/server.js";
import { describeLimit, gatewayAnswers, lambdaPayloadLimit, requestHeaderLimit, requestHeadSize, requestHeaderSize, viewerRequestHeadLimit, type GatewayAnswer, type LimitName } from "./limits.js";
import { apiDomainOf } from "./local-stack.js";
import { cgiToV2Response, parseCgiResponse, v2ResponsePayloadSize, v2ToHttpResponse } from "./response.js";
import { uploadsKeyPrefix } from "../wordpress/files.js";
import { uploadsCacheControl } from "../wordpress/apply-wordpress.js";

/**
 * The third phase of `lamp dev`: what CloudFront, the bucket and API Gateway do with a request.
 * /assets/* and the document root's static files are answered as S3 would; everything else becomes
 * the API Gateway v2 event, then the FastCGI request Bref sends, and php-fpm's answer comes back as
 * the gateway would send it — with production's limits answering as production does.
 */

/** The URL path WordPress's media are served at, from the bucket's wp-content/uploads/. */
const uploadsPathPrefix = `/${uploadsKeyPrefix}`;

/** The router's (and nginx's) answer to a path it refuses. */
const badRequestBody = Buffer.from("<html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>\n");

/** A request on its way, as each step of the gateway needs it. */
interface InFlight {
  req: IncomingRequest;
  connection: HttpConnection;
  /** The path, still percent-encoded, without the query. */
  requestPath: string;
  /** performance.now() when it arrived, for the request log. */
  started: number;
  /** The clock's time when it arrived, for the event. */
  now: number;
  ids: RequestIds;
}

export class Gateway {
  /** The port the server listens on (X-Forwarded-Port), known once it does. */
  localPort = 0;
  readonly apiDomain: string;
  private readonly client: FastCgiClient;
  private readonly assets: AssetServer;
  private readonly documentRootFiles: AssetServer;
  /** WordPress's media, as CloudFront serves the bucket's wp-content/uploads/ (the stand-in's folder). */
  private readonly uploads: AssetServer | undefined;
  private readonly binaryResponses: boolean;
  private readonly functionArn: string;
  private readonly gatewayBodies = new Map<GatewayAnswer, Buffer>();
  /** Static-looking paths already reported as losing their query string: each is named once. */
  private readonly queryDropNoted = new Set<string>();
  private readonly nextIds = requestIds();

  constructor(
    private readonly devRuntime: DevRuntime,
    private readonly backends: DevBackends,
    private readonly ctx: Context,
    private readonly log: DevLog,
  ) {
    const { root, project, stack, region } = devRuntime;
    const { config } = project;
    this.client = new FastCgiClient({ socketPaths: backends.fpm.socketPaths, stopWorker: backends.fpm.stopWorker });
    this.assets = new AssetServer(path.resolve(root, config.assets.dir), config.assets.exclude, config.assets.cacheControl);
    // The document root's static files, as the bucket serves them under document-root/ (no excludes or
    // Cache-Control overrides: those of lamp.json are the assets folder's).
    this.documentRootFiles = new AssetServer(path.resolve(root, config.documentRoot), [], {}, { pathPrefix: "/", staticTypesOnly: true });
    this.uploads = config.wordpress
      ? new AssetServer(path.join(backends.localAws.bucketDir, ...uploadsKeyPrefix.split("/")), [], { "**": uploadsCacheControl }, { pathPrefix: uploadsPathPrefix })
      : undefined;
    this.binaryResponses = phpTruthy(backends.phpEnv.BREF_BINARY_RESPONSES);
    this.functionArn = `arn:aws:lambda:${region}:${stack.accountId}:function:${config.stackName}-web`;
    this.apiDomain = apiDomainOf(stack);
  }

  /** Every request the HTTP server parses comes here. */
  handle(req: IncomingRequest, connection: HttpConnection): void {
    const { method, url } = req;
    const question = url.indexOf("?");
    const now = this.ctx.clock.now();
    const request: InFlight = { req, connection, requestPath: question >= 0 ? url.slice(0, question) : url, started: performance.now(), now, ids: this.nextIds(now) };
    let early: OutgoingResponse | undefined;
    try {
      early = this.route(request);
    } catch (error) {
      this.log.php(`lamp dev failed on ${method} ${request.requestPath}: ${(error as Error).message}`);
      early = this.answer(gatewayAnswers.lambdaError, request.ids.apiRequestId);
    }
    if (early) this.send(request, early);
  }

  close(): void {
    this.client.close();
    this.assets.close();
    this.documentRootFiles.close();
    this.uploads?.close();
  }

  /** Production's limits first, then where the request goes; returns an answer when it is known at once. */
  private route(request: InFlight): OutgoingResponse | undefined {
    const { req, requestPath } = request;
    const { method, url } = req;
    const apiRequestId = request.ids.apiRequestId;
    const headSize = requestHeadSize(method, url, req.httpVersion, req.rawHeaders);
    const headerSize = headSize > requestHeaderLimit ? requestHeaderSize(method, url, req.httpVersion, req.rawHeaders) : 0;
    if (headSize > viewerRequestHeadLimit) {
      this.limitHit(request, "viewer-request-head", headSize);
      return this.answer(gatewayAnswers.headersTooLarge, apiRequestId, true);
    }
    if (headerSize > requestHeaderLimit) {
      this.limitHit(request, "request-headers", headerSize);
      return this.answer(gatewayAnswers.headersTooLarge, apiRequestId, true);
    }
    if (hasEncodedNul(requestPath)) {
      // nginx answers 400; php-fpm would cut the path at the NUL and run /wp-config.php for /wp-config.php%00.css.
      this.log.debug(`${method} ${requestPath}: 400 (a NUL byte in the path)`);
      return { statusCode: 400, headers: ["Content-Type", "text/html; charset=utf-8", "apigw-requestid", apiRequestId], body: badRequestBody };
    }
    if (requestPath.startsWith(assetsPathPrefix)) {
      this.askBucket(request, this.assets, (answer) => this.sendAsset(request, answer));
      return undefined;
    }
    if (this.uploads && requestPath.startsWith(uploadsPathPrefix)) {
      // CloudFront's /wp-content/uploads/* behaviour: the bucket only (GET and HEAD), never PHP.
      this.askBucket(request, this.uploads, (answer) => this.sendAsset(request, answer));
      return undefined;
    }
    if ((method === "GET" || method === "HEAD") && isStaticRequestPath(requestPath)) {
      this.askBucket(request, this.documentRootFiles, (answer) => this.staticOrPhp(request, answer));
      return undefined;
    }
    if (req.bodyTooLarge) {
      this.limitHit(request, "request-payload");
      return this.answer(gatewayAnswers.requestTooLarge, apiRequestId);
    }
    return this.invoke(request);
  }

  /** The production path: request -> v2 event -> FastCGI; the answer arrives at the exchange. Returns an early answer, if any. */
  private invoke(request: InFlight, eventRequest: IncomingRequest = request.req): OutgoingResponse | undefined {
    const { apiRequestId, traceId, awsRequestId } = request.ids;
    const { timing, runtime, stack } = this.devRuntime;
    const event: ApiGatewayV2Event = httpRequestToEvent(eventRequest, {
      requestId: apiRequestId,
      now: request.now,
      localPort: this.localPort,
      traceId,
      apiId: stack.apiId,
      apiDomain: this.apiDomain,
      originHeaders: runtime?.originHeaders ?? [],
    });
    // JSON can at most ~double a base64 body plus headers: only measure when it could matter.
    if (request.req.body.length > lambdaPayloadLimit / 3) {
      const size = Buffer.byteLength(JSON.stringify(event));
      if (size >= lambdaPayloadLimit) {
        this.limitHit(request, "request-payload", size);
        return this.answer(gatewayAnswers.requestTooLarge, apiRequestId);
      }
    }
    const fastCgi = eventToFastCgiRequest(event, this.devRuntime.handlerPath, {
      awsRequestId,
      deadlineMs: request.now + (timing.functionTimeoutMs ?? timing.timeoutMs),
      invokedFunctionArn: this.functionArn,
      traceId,
    });
    this.backends.phpBusy(1);
    this.client.send(
      { params: fastCgi.params, body: fastCgi.body, timeoutMs: timing.answerAfterMs, stopAfterMs: timing.phpLimitMs, maxStdoutBytes: timing.maxStdoutBytes },
      new PhpExchange(this, request),
    );
    return undefined;
  }

  /** php-fpm's answer (or failure) for a request, sent as API Gateway would. */
  phpAnswered(request: InFlight, outcome: FastCgiResponse | Error): void {
    this.backends.phpBusy(-1);
    let response: OutgoingResponse;
    try {
      response = outcome instanceof Error ? this.phpFailure(request, outcome) : this.phpResponse(request, outcome);
    } catch (error) {
      this.log.php(`lamp dev failed on ${request.req.method} ${request.requestPath}: ${(error as Error).message}`);
      response = this.answer(gatewayAnswers.lambdaError, request.ids.apiRequestId);
    }
    this.send(request, response);
  }

  private phpFailure(request: InFlight, error: Error): OutgoingResponse {
    const { apiRequestId } = request.ids;
    const { timing } = this.devRuntime;
    if (error instanceof FastCgiTimeoutError) {
      if (timing.brefStopsFirst) {
        this.limitHit(request, "function-timeout", timing.phpLimitMs);
        return this.answer(gatewayAnswers.lambdaError, apiRequestId);
      }
      this.limitHit(request, "timeout", timing.timeoutMs);
      return this.answer(gatewayAnswers.timeout, apiRequestId);
    }
    if (error instanceof FastCgiOutputTooLargeError) {
      this.limitHit(request, "response-payload");
      return this.answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    this.log.php(`lamp dev could not talk to php-fpm: ${error.message}`);
    return this.answer(gatewayAnswers.lambdaError, apiRequestId);
  }

  /** php-fpm's output -> the HTTP response API Gateway would send. */
  private phpResponse(request: InFlight, outcome: FastCgiResponse): OutgoingResponse {
    const { req, requestPath } = request;
    const { apiRequestId } = request.ids;
    if (outcome.stderr.length > 0) {
      for (const line of outcome.stderr.toString("utf8").split("\n")) if (line.trim()) this.log.php(line);
    }
    const v2 = cgiToV2Response(parseCgiResponse(outcome.stdout), this.binaryResponses);
    if (!v2.ok) {
      this.log.limit(
        `${req.method} ${requestPath}: the response body is binary (not UTF-8); in Lambda, Bref cannot encode it as JSON and the invocation fails. ` +
          "Set BREF_BINARY_RESPONSES=1 in lamp.json `environment` to return images, PDFs and other binary files.",
      );
      return this.answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    if (v2.response.body.length > lambdaPayloadLimit / 8) {
      const size = v2ResponsePayloadSize(v2.response);
      if (size >= lambdaPayloadLimit) {
        this.limitHit(request, "response-payload", size);
        return this.answer(gatewayAnswers.lambdaError, apiRequestId);
      }
    }
    const out = v2ToHttpResponse(v2.response, apiRequestId);
    if (out.statusCode < 100 || out.statusCode > 599) {
      this.log.php(`PHP sent an invalid status code ${out.statusCode}; API Gateway answers 500.`);
      return this.answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    const headers: string[] = [];
    for (const [name, value] of out.headers) headers.push(name, value);
    return { statusCode: out.statusCode, headers, body: out.body };
  }

  /** The bucket's answer, given to `then`: a cached file's at once (no promise under load), others once the file system has answered. */
  private askBucket(request: InFlight, from: AssetServer, then: (answer: AssetResponse) => void): void {
    const answer = from.serve(assetRequestOf(request.req, request.requestPath, request.ids));
    if (answer instanceof Promise) answer.then(then, (error: Error) => this.failed(request, error));
    else then(answer);
  }

  private sendAsset(request: InFlight, asset: AssetResponse): void {
    if (asset.reason) this.log.debug(`${request.req.method} ${request.requestPath}: 403 (${asset.reason})`);
    this.send(request, asset);
  }

  /** An unexpected failure of lamp's own on the way: the gateway's 500, and the reason in the log. */
  private failed(request: InFlight, error: Error): void {
    this.log.php(`lamp dev failed on ${request.req.method} ${request.requestPath}: ${error.message}`);
    this.send(request, this.answer(gatewayAnswers.lambdaError, request.ids.apiRequestId));
  }

  /**
   * A static-looking GET/HEAD outside /assets/: the document root's file as the bucket serves it,
   * or else PHP without the query string — in production the viewer-request function sends the
   * request to the bucket first (query dropped) and CloudFront fails over to the API on its 403.
   */
  private staticOrPhp(request: InFlight, file: AssetResponse): void {
    if (file.statusCode !== 403) {
      this.send(request, file);
      return;
    }
    const { req, requestPath, ids } = request;
    this.log.debug(`${req.method} ${requestPath}: not a static file of ${this.devRuntime.project.config.documentRoot}/ (${file.reason}); PHP answers, without the query string`);
    this.noteQueryDropped(request);
    let response: OutgoingResponse | undefined;
    try {
      response = req.bodyTooLarge ? this.answer(gatewayAnswers.requestTooLarge, ids.apiRequestId) : this.invoke(request, { ...req, url: requestPath });
    } catch (error) {
      this.failed(request, error as Error);
      return;
    }
    if (response) this.send(request, response);
  }

  private noteQueryDropped({ req, requestPath }: InFlight): void {
    if (req.url.length <= requestPath.length + 1 || this.queryDropNoted.has(requestPath) || this.queryDropNoted.size >= 100) return;
    this.queryDropNoted.add(requestPath);
    this.log.limit(
      `${req.method} ${requestPath}: PHP answers this static-looking path without its query string (${req.url.slice(requestPath.length)}), as in production, ` +
        "where CloudFront asks the bucket first (dropping the query) and sends the same request on to PHP when the bucket has no such file. " +
        "Give a PHP-generated file a path without a static extension (/chart?n=7, /chart.php?n=7).",
    );
  }

  /** Answers a request through what CloudFront would do, and logs it; a response that cannot be sent (a bad header from PHP) becomes a 500. */
  private send(request: InFlight, response: OutgoingResponse): void {
    const { req, connection, requestPath } = request;
    try {
      const policy = requestPath.startsWith(assetsPathPrefix) || (this.uploads && requestPath.startsWith(uploadsPathPrefix)) ? assetsPolicy : pagesPolicy;
      response = throughTheEdge(req.method, headerValue(req.rawHeaders, "accept-encoding", true), policy, response, this.ctx.clock.now());
      connection.respond(req, response);
    } catch (error) {
      this.log.php(`lamp dev could not send the response to ${req.method} ${requestPath}: ${(error as Error).message}`);
      response = this.answer(gatewayAnswers.lambdaError, request.ids.apiRequestId);
      connection.respond(req, response);
    }
    this.log.request(req.method, requestPath, response.statusCode, Math.round(performance.now() - request.started));
  }

  /** API Gateway's own answer (its JSON body is made once per kind). */
  private answer(gateway: GatewayAnswer, apiRequestId: string, close = false): OutgoingResponse {
    let body = this.gatewayBodies.get(gateway);
    if (!body) this.gatewayBodies.set(gateway, (body = Buffer.from(JSON.stringify({ message: gateway.message }))));
    return { statusCode: gateway.statusCode, headers: ["Content-Type", "application/json", "apigw-requestid", apiRequestId], body, close };
  }

  private limitHit({ req, requestPath }: InFlight, limit: LimitName, actual?: number): void {
    this.log.limit(`${req.method} ${requestPath}: ${describeLimit(limit, actual)}; answering as API Gateway does.`);
  }
}

/** A request on its way through php-fpm: an object, not closures or promises, receives the outcome. */
class PhpExchange implements FastCgiReceiver {
  constructor(
    private readonly gateway: Gateway,
    private readonly request: InFlight,
  ) {}

  fastCgiResponse(response: FastCgiResponse): void {
    this.gateway.phpAnswered(this.request, response);
  }

  fastCgiError(error: Error): void {
    this.gateway.phpAnswered(this.request, error);
  }
}

/** Per request: API Gateway's id, the Lambda request id, the X-Ray trace — unique, and each made only when asked for (a cached file's answer needs none). */
class RequestIds {
  private hex: string | undefined;

  constructor(
    private readonly prefixes: { api: string; aws: string; trace: string },
    private readonly count: number,
    private readonly now: number,
  ) {}

  get apiRequestId(): string {
    return this.prefixes.api + this.countHex();
  }

  get awsRequestId(): string {
    return this.prefixes.aws + this.countHex();
  }

  get traceId(): string {
    return `Root=1-${Math.floor(this.now / 1000).toString(16).padStart(8, "0")}-${this.prefixes.trace}${this.countHex()}`;
  }

  private countHex(): string {
    return (this.hex ??= this.count.toString(16).padStart(12, "0"));
  }
}

/** The ids of each next request, from prefixes random per run. */
function requestIds(): (now: number) => RequestIds {
  const random = randomBytes(10).toString("hex");
  const prefixes = {
    api: random.slice(0, 6),
    aws: `${random.slice(0, 8)}-${random.slice(8, 12)}-4${random.slice(13, 16)}-a${random.slice(17, 20)}-`,
    trace: random.slice(0, 12),
  };
  let counter = 0;
  return (now) => new RequestIds(prefixes, ++counter, now);
}

/** PHP's (bool) on an environment string. */
function phpTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0";
}

/** Whether a percent-encoded request path decodes to a NUL byte somewhere (`%00`). */
export function hasEncodedNul(encodedPath: string): boolean {
  // A raw NUL never gets this far: the HTTP parser refuses it.
  const percent = encodedPath.indexOf("%");
  return percent >= 0 && /%00/.test(encodedPath.slice(percent));
}

/** What the bucket is asked: the path and the conditional-GET headers of the request. */
function assetRequestOf(req: IncomingRequest, encodedPath: string, ids: RequestIds): AssetRequest {
  return {
    method: req.method,
    encodedPath,
    ifNoneMatch: headerValue(req.rawHeaders, "if-none-match", true),
    ifModifiedSince: headerValue(req.rawHeaders, "if-modified-since", false),
    range: headerValue(req.rawHeaders, "range", false),
    ids,
  };
}

/**
 * A request header as node:http's `req.headers` gives it: repeated values joined with ", ", or
 * (for fields that cannot repeat, such as If-Modified-Since) the first one.
 */
function headerValue(rawHeaders: readonly string[], lowerCaseName: string, joinRepeated: boolean): string | undefined {
  let value: string | undefined;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    if (name.length !== lowerCaseName.length || name.toLowerCase() !== lowerCaseName) continue;
    if (value === undefined) value = rawHeaders[index + 1]!;
    else if (joinRepeated) value += `, ${rawHeaders[index + 1]!}`;
    else break;
  }
  return value;
}
