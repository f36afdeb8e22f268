import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { Context } from "../core/context.js";
import { LampError, errnoCode } from "../core/errors.js";
import type { Project } from "../core/config.js";
import { AssetServer, assetsPathPrefix, isStaticRequestPath, type AssetRequest } from "./assets.js";
import { httpRequestToEvent, type ApiGatewayV2Event } from "./event.js";
import { FastCgiClient, FastCgiOutputTooLargeError, FastCgiTimeoutError, type FastCgiReceiver, type FastCgiResponse } from "./fastcgi/client.js";
import { HttpServer, type HttpConnection, type IncomingRequest, type OutgoingResponse } from "./http/server.js";
import { eventToFastCgiRequest } from "./fastcgi-params.js";
import {
  describeLimit,
  gatewayAnswers,
  integrationTimeoutMs,
  lambdaPayloadLimit,
  phpRunLimitMs,
  requestHeaderLimit,
  requestHeadSize,
  requestHeaderSize,
  viewerRequestHeadLimit,
  type GatewayAnswer,
  type LimitName,
} from "./limits.js";
import { findPhpFpm } from "../core/php-fpm-binary.js";
import { readOnlySupported, startPhpFpm, type PhpFpmProcess } from "./php-fpm.js";
import { readLambdaRuntime, type LambdaRuntime } from "./lambda-runtime.js";
import { functionEnvironment } from "./function-environment.js";
import { localPhpBuild, selectExtensions } from "./php-extensions.js";
import { cachedProbe, namespaceSupportKey, probeFile } from "./probe-cache.js";
import { checkExtensionsArchitecture, missingExtensionHint, requestedExtensions, syncExtensionsIni } from "../project/php-extensions.js";
import type { Ui } from "../core/ui.js";
import { startDevDatabase } from "../database/dev.js";
import { effectiveHandler, prepareHandler } from "../router/router.js";
import { apiDomainOf, localStack } from "./local-stack.js";
import { checkRuntimeLayer } from "../project/runtime-layer.js";
import { describeDanglingLinks, findDanglingLinks } from "../project/dangling-links.js";
import { watchFileSessions, watchInstanceSessions, watchProjectWrites } from "./project-writes.js";
import { assetsPolicy, pagesPolicy, throughTheEdge } from "./edge.js";
import { cgiToV2Response, parseCgiResponse, v2ResponsePayloadSize, v2ToHttpResponse } from "./response.js";

export interface DevServerOptions {
  project: Project;
  port: number;
  host: string;
  workers: number;
  /** --php-fpm: an explicit binary instead of searching PATH and sbin. */
  phpFpm?: string;
  /**
   * --writable: PHP may write into the project (each write is reported). By default the project is
   * read-only for PHP, as /var/task is in Lambda (where the system allows it: see readOnlyCode).
   */
  writable?: boolean;
  /** The integration timeout; production's 30 s unless a test needs it shorter. */
  timeoutMs?: number;
  /** The function's Timeout; template.yaml's unless a test needs it shorter. */
  functionTimeoutMs?: number;
}

export interface DevServer {
  url: string;
  port: number;
  phpFpmBinary: string;
  phpFpmPid: number;
  /** php-fpm's unix sockets (one per worker), inside the run's temp dir. */
  phpFpmSockets: string[];
  /** The local database, when lamp.json has a `database` section. */
  database?: { address: string; version: string; pid: number; socketPath: string };
  /** The folder of the instances' /tmp folders for this run, removed at close. */
  phpTmpDir: string;
  /** Each instance's (php-fpm worker's) /tmp, in the order of phpFpmSockets. */
  instanceTmpDirs: string[];
  /** Whether PHP runs with the project read-only (false with --writable, or where the system cannot). */
  readOnly: boolean;
  /** How long PHP may run before production stops it (Bref's, or API Gateway's limit), in ms. */
  phpTimeLimitMs: number;
  /** The made-up API Gateway domain PHP gets as Host. */
  apiDomain: string;
  /** Resolves once every folder of the project is watched for PHP's writes. */
  watchingWrites: Promise<void>;
  /** Resolves when php-fpm dies on its own (the server cannot go on without it). */
  readonly died: Promise<string>;
  close(): Promise<void>;
}

export interface DevLog {
  request(method: string, path: string, status: number, ms: number): void;
  php(line: string): void;
  limit(message: string): void;
  debug(message: string): void;
  /** Writes out anything held back. */
  flush?(): void;
}

/**
 * Request log lines on stdout; PHP's output and limit hits as they happen. Request lines are
 * written at most every 50 ms, several in one write: under load a write per line costs more
 * than the proxying itself. With --json, stdout holds the one JSON result and the log goes to stderr.
 */
export function uiDevLog(ctx: Context): DevLog & { flush(): void } {
  const { colors } = ctx.ui;
  const out = ctx.ui.json ? (text: string) => ctx.ui.note(text) : (text: string) => ctx.ui.out(text);
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    out(lines.join("\n"));
  };
  return {
    request: (method, requestPath, status, ms) => {
      const paint = status >= 500 ? colors.red : status >= 400 ? colors.yellow : status >= 300 ? colors.cyan : colors.green;
      pending.push(`${method} ${requestPath} ${paint(String(status))} ${colors.dim(`${ms}ms`)}`);
      timer ??= setTimeout(flush, 50);
    },
    php: (line) => {
      flush();
      out(`${colors.magenta("php")} ${line}`);
    },
    limit: (message) => {
      flush();
      ctx.ui.warn(message);
    },
    debug: (message) => ctx.ui.debug(message),
    flush,
  };
}

/** Ids for each request (API Gateway's, the Lambda request id, the X-Ray trace): unique, and cheap. */
function requestIds(): (now: number) => { apiRequestId: string; awsRequestId: string; traceId: string } {
  const prefix = randomBytes(10).toString("hex");
  const apiPrefix = prefix.slice(0, 6);
  const awsPrefix = `${prefix.slice(0, 8)}-${prefix.slice(8, 12)}-4${prefix.slice(13, 16)}-a${prefix.slice(17, 20)}-`;
  const tracePrefix = prefix.slice(0, 12);
  let counter = 0;
  return (now) => {
    counter += 1;
    const count = counter.toString(16).padStart(12, "0");
    return {
      apiRequestId: apiPrefix + count,
      awsRequestId: awsPrefix + count,
      traceId: `Root=1-${Math.floor(now / 1000).toString(16).padStart(8, "0")}-${tracePrefix}${count}`,
    };
  };
}

export { lambdaVariables } from "./function-environment.js";

/**
 * Whether PHP can run with the project read-only (Linux user + mount namespaces). Where the system
 * does not allow it (macOS, a container without user namespaces, Ubuntu's AppArmor restriction on
 * unprivileged ones), one line says so and lamp dev reports each write instead.
 */
async function readOnlyCode(ui: Ui, root: string): Promise<boolean> {
  // The probe runs a program: its answer is kept for this boot (see namespaceSupportKey).
  if (await cachedProbe(probeFile(root), "read-only-code", namespaceSupportKey(), readOnlySupported, (value) => typeof value === "boolean")) return true;
  const why =
    process.platform === "linux"
      ? "this system does not allow unprivileged user namespaces (a container, or Ubuntu's AppArmor restriction: see docs/dev-server.md)"
      : `${process.platform === "darwin" ? "macOS" : process.platform} has no user and mount namespaces`;
  ui.warn(`lamp dev cannot make the project read-only for PHP as Lambda does: ${why}. Writes into it work here and are reported, one line per file.`);
  return false;
}

/**
 * The distribution's ini files for exactly the extensions of Bref's layer and lamp.json's
 * php.extensions (refused on arm64 when an extra layer is needed), and the project's
 * php/conf.d/lamp-extensions.ini for Bref's optional ones, as lamp deploy writes it.
 */
async function lambdaExtensions(
  root: string,
  config: Project["config"],
  runtime: LambdaRuntime | undefined,
  build: Awaited<ReturnType<typeof localPhpBuild>>,
  binary: string,
  ui: Ui,
): Promise<string[] | undefined> {
  const requested = requestedExtensions(config);
  if (runtime) checkExtensionsArchitecture(requested, runtime.architecture);
  if (await syncExtensionsIni(root, requested)) ui.note(`  wrote php/conf.d/lamp-extensions.ini from lamp.json's php.extensions (Lambda reads it too)`);
  if (!build.scanDir) return undefined;
  const selection = await selectExtensions(build, requested, runtime?.phpVersion ?? build.version);
  if (selection.missing.length > 0) ui.warn(`The local PHP lacks ${selection.missing.join(", ")}, which Bref's layer has: code using ${selection.missing.length > 1 ? "them" : "it"} fails here but works in Lambda.`);
  if (selection.extraBuiltIn.length > 0) ui.debug(`lamp dev: built into ${binary}, so loaded although Lambda lacks them: ${selection.extraBuiltIn.join(", ")}`);
  return selection.iniFiles;
}

/** Lines that follow a PHP message to say what it means in Lambda: each said once per run. */
function phpLogHints(requested: readonly string[]): (line: string) => string | undefined {
  const said = new Set<string>();
  return (line) => {
    if (line.includes("Read-only file system")) {
      if (said.has("erofs")) return undefined;
      said.add("erofs");
      return "PHP tried to write into the project, which is read-only as /var/task is in Lambda: the same write fails there. Write to sys_get_temp_dir() (/tmp: per instance, temporary), the database or S3; `lamp dev --writable` allows it locally.";
    }
    if (!line.includes("undefined function") && !line.includes("not found")) return undefined;
    const hint = missingExtensionHint(line, requested);
    if (!hint || said.has(hint.extension)) return undefined;
    said.add(hint.extension);
    return hint.message;
  };
}

/** Folders of the project that are not the code's: lamp's own, version control, tools. */
const lampIgnoredFolders = [".lamp", ".git", ".hg", ".svn", "node_modules", ".idea", ".vscode", ".aws-sam"];
/** How long after PHP answers a change still counts as its own (file events arrive within milliseconds). */
const phpWriteGraceMs = 500;

/** PHP's (bool) on an environment string. */
function phpTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0";
}

export async function startDevServer(options: DevServerOptions, ctx: Context, log: DevLog = uiDevLog(ctx)): Promise<DevServer> {
  const { root, config } = options.project;
  const handlerPath = path.resolve(root, await prepareHandler(root, config, ctx.ui));
  // Before php-fpm: an app auto_prepend_file beside the layer's would make the banner's "runtime layer on" untrue.
  await checkRuntimeLayer(root);
  const binary = findPhpFpm(options.phpFpm, ctx.env);
  // What the binary is made of (two runs of it, unless known from an earlier start) is found out while the rest starts.
  const build = localPhpBuild(binary, probeFile(root));
  const readOnly = !options.writable && (await readOnlyCode(ctx.ui, root));
  const timeoutMs = options.timeoutMs ?? integrationTimeoutMs;
  // As in Lambda: the template's variables (BREF_RUNTIME...), then lamp.json's, which deploy adds over them.
  // The region lamp deploy would use (--region, then lamp.json): PHP's AWS_REGION says the same.
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = localStack(config.stackName, region);
  const { runtime, warning } = await readLambdaRuntime(root, stack);
  if (warning) ctx.ui.warn(warning);
  const extensionIniFiles = await lambdaExtensions(root, options.project.config, runtime, await build, binary, ctx.ui);
  // Production's clocks start when the request is sent to PHP: Bref stops PHP one second before the
  // function's Timeout and the invocation fails (500); API Gateway gives up at 30 s (503), whichever
  // comes first. Without a function Timeout to go by, only the gateway's limit applies.
  const functionTimeoutMs = options.functionTimeoutMs ?? (runtime?.timeoutSeconds !== undefined ? runtime.timeoutSeconds * 1000 : undefined);
  const phpLimitMs = functionTimeoutMs !== undefined ? phpRunLimitMs(functionTimeoutMs) : timeoutMs;
  const brefStopsFirst = functionTimeoutMs !== undefined && phpLimitMs <= timeoutMs;
  const answerAfterMs = Math.min(phpLimitMs, timeoutMs);
  // Past this, the response cannot be under Lambda's limit whatever its headers: stop reading.
  const maxStdoutBytes = lambdaPayloadLimit + 64 * 1024;
  if (runtime?.environment.LAMP_ORIGIN_TOKEN && !runtime.originHeaders.some(([name]) => name === "x-lamp-origin") && existsSync(path.join(root, "php", "conf.d", "lamp.ini"))) {
    ctx.ui.warn(
      "template.yaml gives the function LAMP_ORIGIN_TOKEN, but no CloudFront origin sends X-Lamp-Origin: the runtime layer refuses every request (403), here and in Lambda. " +
        "Restore the WebApi origin's OriginCustomHeaders, or delete php/conf.d/lamp.ini to turn the layer off.",
    );
  }
  const localPhp = runtime?.phpVersion ? (await build).version : undefined;
  if (runtime?.phpVersion && localPhp && localPhp !== runtime.phpVersion) {
    ctx.ui.warn(`${binary} is PHP ${localPhp}, but template.yaml deploys PHP ${runtime.phpVersion}: what works here may not work in Lambda.`);
  }
  const hints = phpLogHints(requestedExtensions(config));
  let resolveDied!: (reason: string) => void;
  const died = new Promise<string>((resolve) => (resolveDied = resolve));
  // Before php-fpm, so PHP gets its variables (as the function gets the cluster's); stopped with everything else.
  const database = await startDevDatabase(options.project, ctx, { debug: (line) => log.debug(line), died: (reason) => resolveDied(reason) });
  const functionName = `${config.stackName}-web`;
  // The function's environment and nothing of the developer's shell (see function-environment.ts).
  const phpEnv: NodeJS.ProcessEnv = functionEnvironment({
    root,
    // PHP's AWS_REGION is the region lamp deploy would use (--region, then lamp.json).
    config: { ...config, region },
    runtime,
    database: database?.variables,
    hostEnv: ctx.env,
    handler: path.relative(root, handlerPath),
  });
  const binaryResponses = phpTruthy(phpEnv.BREF_BINARY_RESPONSES);
  const functionArn = `arn:aws:lambda:${region}:${stack.accountId}:function:${functionName}`;
  const apiId = stack.apiId;
  const apiDomain = apiDomainOf(stack);
  const originHeaders = runtime?.originHeaders ?? [];

  const fpm: PhpFpmProcess = await startPhpFpm({
    binary,
    workers: options.workers,
    // Bref adds the project's php/conf.d to PHP's scan dir in Lambda.
    iniScanDirs: [path.join(root, "php", "conf.d")],
    extensionIniFiles,
    readOnlyRoot: readOnly ? root : undefined,
    cwd: root,
    env: phpEnv,
    clock: ctx.clock,
    onLog: (line, quiet) => {
      if (quiet) return log.debug(`php-fpm: ${line}`);
      log.php(line);
      const hint = hints(line);
      if (hint) log.limit(hint);
    },
    onExit: (code, signal) => resolveDied(`php-fpm exited unexpectedly (${signal ?? `exit code ${code}`}): lamp dev stopped. Check the PHP output above.`),
  }).catch(async (error: unknown) => {
    await database?.stop();
    throw error;
  });

  const client = new FastCgiClient({ socketPaths: fpm.socketPaths, stopWorker: fpm.stopWorker });
  const assets = new AssetServer(path.resolve(root, config.assets.dir), config.assets.exclude, config.assets.cacheControl);
  // The document root's static files, as the bucket serves them under document-root/ (no excludes or
  // Cache-Control overrides: those of lamp.json are the assets folder's).
  const documentRootFiles = new AssetServer(path.resolve(root, config.documentRoot), [], {}, { pathPrefix: "/", staticTypesOnly: true });

  const gatewayBodies = new Map<GatewayAnswer, Buffer>();
  const answer = (gateway: GatewayAnswer, apiRequestId: string, close = false): OutgoingResponse => {
    let body = gatewayBodies.get(gateway);
    if (!body) gatewayBodies.set(gateway, (body = Buffer.from(JSON.stringify({ message: gateway.message }))));
    return { statusCode: gateway.statusCode, headers: ["Content-Type", "application/json", "apigw-requestid", apiRequestId], body, close };
  };
  const limitHit = (method: string, requestPath: string, limit: LimitName, actual?: number) =>
    log.limit(`${method} ${requestPath}: ${describeLimit(limit, actual)}; answering as API Gateway does.`);

  // Writes into the project while PHP works are PHP's: /var/task is read-only in Lambda. With the
  // project read-only they fail instead, and PHP's own warning says so (hinted by phpLogHints).
  let phpRequests = 0;
  let phpIdleSince = -Infinity;
  const writes = readOnly ? { ready: Promise.resolve(), close: () => {} } : watchProjectWrites({
    root,
    ignoredFolders: lampIgnoredFolders,
    isPhpBusy: () => phpRequests > 0 || performance.now() - phpIdleSince < phpWriteGraceMs,
    onWrite: (relativePath) =>
      log.limit(
        `PHP wrote ${relativePath} in the project folder: in Lambda the code is read-only (/var/task), so this write fails there. ` +
          "Write to sys_get_temp_dir() (/tmp: per instance, temporary) or to S3.",
      ),
    onLimit: (message) => log.debug(`lamp dev: ${message}`),
  });
  const sessionsFirst = watchFileSessions(fpm.instanceTmpDirs, () =>
    log.limit(
      "PHP stored a session as a file in /tmp: in Lambda each instance has its own /tmp, so sessions (logins, flash messages, CSRF tokens) " +
        "are lost whenever a request reaches another instance. Keep them in a shared store: with a database in lamp.json the runtime layer stores sessions there.",
    ),
  );
  const sessionsCrossing = watchInstanceSessions(fpm.instanceTmpDirs, (from, to) =>
    log.limit(
      `A request carried a session started on instance ${from + 1}, but reached instance ${to + 1}, whose /tmp does not have it: the session is lost, as in Lambda. ` +
        "Store sessions where every instance sees them: add a database (`lamp init --database`, or a \"database\" section in lamp.json: the runtime layer keeps sessions there) or use cookie sessions.",
    ),
  );
  const sessions = { close: () => (sessionsFirst.close(), sessionsCrossing.close()) };

  // Named once at start: a link to nothing is a 404 or a failed include here and in Lambda alike.
  void findDanglingLinks(root, lampIgnoredFolders).then(
    (links) => links.length > 0 && log.limit(describeDanglingLinks(links, "lamp dev serves and runs nothing through them, and lamp deploy leaves them out")),
    () => {},
  );

  const nextIds = requestIds();
  let localPort = 0;
  /** Answers a request and logs it; a response that cannot be sent (a bad header from PHP) becomes a 500. */
  /** `file`: a static file's answer, whose headers array comes back for each request of that file. */
  const send = (req: IncomingRequest, connection: HttpConnection, requestPath: string, started: number, apiRequestId: string, response: OutgoingResponse, file = false): void => {
    try {
      const policy = requestPath.startsWith(assetsPathPrefix) ? assetsPolicy : pagesPolicy;
      response = throughTheEdge(req.method, headerValue(req.rawHeaders, "accept-encoding", true), policy, response, ctx.clock.now(), file);
      connection.respond(req, response);
    } catch (error) {
      log.php(`lamp dev could not send the response to ${req.method} ${requestPath}: ${(error as Error).message}`);
      response = answer(gatewayAnswers.lambdaError, apiRequestId);
      connection.respond(req, response);
    }
    log.request(req.method, requestPath, response.statusCode, Math.round(performance.now() - started));
  };

  /** php-fpm's answer (or failure) -> the HTTP response API Gateway would send. */
  const phpResponse = (req: IncomingRequest, requestPath: string, apiRequestId: string, outcome: FastCgiResponse | Error): OutgoingResponse => {
    if (outcome instanceof Error) {
      if (outcome instanceof FastCgiTimeoutError) {
        if (brefStopsFirst) {
          limitHit(req.method, requestPath, "function-timeout", phpLimitMs);
          return answer(gatewayAnswers.lambdaError, apiRequestId);
        }
        limitHit(req.method, requestPath, "timeout", timeoutMs);
        return answer(gatewayAnswers.timeout, apiRequestId);
      }
      if (outcome instanceof FastCgiOutputTooLargeError) {
        limitHit(req.method, requestPath, "response-payload");
        return answer(gatewayAnswers.lambdaError, apiRequestId);
      }
      log.php(`lamp dev could not talk to php-fpm: ${outcome.message}`);
      return answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    if (outcome.stderr.length > 0) {
      for (const line of outcome.stderr.toString("utf8").split("\n")) if (line.trim()) log.php(line);
    }
    const v2 = cgiToV2Response(parseCgiResponse(outcome.stdout), binaryResponses);
    if (!v2.ok) {
      log.limit(
        `${req.method} ${requestPath}: the response body is binary (not UTF-8); in Lambda, Bref cannot encode it as JSON and the invocation fails. ` +
          "Set BREF_BINARY_RESPONSES=1 in lamp.json `environment` to return images, PDFs and other binary files.",
      );
      return answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    if (v2.response.body.length > lambdaPayloadLimit / 8) {
      const size = v2ResponsePayloadSize(v2.response);
      if (size >= lambdaPayloadLimit) {
        limitHit(req.method, requestPath, "response-payload", size);
        return answer(gatewayAnswers.lambdaError, apiRequestId);
      }
    }
    const out = v2ToHttpResponse(v2.response, apiRequestId);
    if (out.statusCode < 100 || out.statusCode > 599) {
      log.php(`PHP sent an invalid status code ${out.statusCode}; API Gateway answers 500.`);
      return answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    const headers: string[] = [];
    for (const [name, value] of out.headers) headers.push(name, value);
    return { statusCode: out.statusCode, headers, body: out.body };
  };

  /** A request on its way through php-fpm: an object, not closures or promises, receives the outcome. */
  class PhpExchange implements FastCgiReceiver {
    constructor(
      readonly req: IncomingRequest,
      readonly connection: HttpConnection,
      readonly requestPath: string,
      readonly apiRequestId: string,
      readonly started: number,
    ) {}

    fastCgiResponse(response: FastCgiResponse): void {
      this.answer(response);
    }

    fastCgiError(error: Error): void {
      this.answer(error);
    }

    private answer(outcome: FastCgiResponse | Error): void {
      phpRequests -= 1;
      phpIdleSince = performance.now();
      let response: OutgoingResponse;
      try {
        response = phpResponse(this.req, this.requestPath, this.apiRequestId, outcome);
      } catch (error) {
        log.php(`lamp dev failed on ${this.req.method} ${this.requestPath}: ${(error as Error).message}`);
        response = answer(gatewayAnswers.lambdaError, this.apiRequestId);
      }
      send(this.req, this.connection, this.requestPath, this.started, this.apiRequestId, response);
    }
  }

  /** The production path: request -> v2 event -> FastCGI; the answer arrives at the exchange. Returns an early answer, if any. */
  const invoke = (
    req: IncomingRequest,
    connection: HttpConnection,
    requestPath: string,
    started: number,
    now: number,
    ids: ReturnType<typeof nextIds>,
    eventRequest: IncomingRequest = req,
  ): OutgoingResponse | undefined => {
    const { apiRequestId, traceId } = ids;
    const event: ApiGatewayV2Event = httpRequestToEvent(eventRequest, { requestId: apiRequestId, now, localPort, traceId, apiId, apiDomain, originHeaders });
    // JSON can at most ~double a base64 body plus headers: only measure when it could matter.
    if (req.body.length > lambdaPayloadLimit / 3) {
      const size = Buffer.byteLength(JSON.stringify(event));
      if (size >= lambdaPayloadLimit) {
        limitHit(req.method, requestPath, "request-payload", size);
        return answer(gatewayAnswers.requestTooLarge, apiRequestId);
      }
    }
    const fastCgi = eventToFastCgiRequest(event, handlerPath, {
      awsRequestId: ids.awsRequestId,
      deadlineMs: now + (functionTimeoutMs ?? timeoutMs),
      invokedFunctionArn: functionArn,
      traceId,
    });
    phpRequests += 1;
    client.send(
      { params: fastCgi.params, body: fastCgi.body, timeoutMs: answerAfterMs, stopAfterMs: phpLimitMs, maxStdoutBytes },
      new PhpExchange(req, connection, requestPath, apiRequestId, started));
    return undefined;
  };

  const serveAsset = async (req: IncomingRequest, connection: HttpConnection, requestPath: string, started: number, apiRequestId: string): Promise<void> => {
    let response: OutgoingResponse;
    let file = false;
    try {
      const asset = await assets.serve(assetRequestOf(req, requestPath, apiRequestId));
      if (asset.reason) log.debug(`${req.method} ${requestPath}: 403 (${asset.reason})`);
      response = asset;
      file = true;
    } catch (error) {
      log.php(`lamp dev failed on ${req.method} ${requestPath}: ${(error as Error).message}`);
      response = answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    send(req, connection, requestPath, started, apiRequestId, response, file);
  };

  /**
   * A static-looking GET/HEAD outside /assets/: the document root's file as the bucket serves it,
   * or else PHP without the query string — in production the viewer-request function sends the
   * request to the bucket first (query dropped) and CloudFront fails over to the API on its 403.
   */
  /** Static-looking paths already reported as losing their query string: each is named once. */
  const queryDropNoted = new Set<string>();
  const serveStaticOrPhp = async (req: IncomingRequest, connection: HttpConnection, requestPath: string, started: number, now: number, ids: ReturnType<typeof nextIds>): Promise<void> => {
    let response: OutgoingResponse | undefined;
    let isFile = false;
    try {
      const file = await documentRootFiles.serve(assetRequestOf(req, requestPath, ids.apiRequestId));
      if (file.statusCode !== 403) {
        response = file;
        isFile = true;
      } else {
        log.debug(`${req.method} ${requestPath}: not a static file of ${config.documentRoot}/ (${file.reason}); PHP answers, without the query string`);
        if (req.url.length > requestPath.length + 1 && !queryDropNoted.has(requestPath) && queryDropNoted.size < 100) {
          queryDropNoted.add(requestPath);
          log.limit(
            `${req.method} ${requestPath}: PHP answers this static-looking path without its query string (${req.url.slice(requestPath.length)}), as in production, ` +
              "where CloudFront asks the bucket first (dropping the query) and sends the same request on to PHP when the bucket has no such file. " +
              "Give a PHP-generated file a path without a static extension (/chart?n=7, /chart.php?n=7).",
          );
        }
        response = req.bodyTooLarge ? answer(gatewayAnswers.requestTooLarge, ids.apiRequestId) : invoke(req, connection, requestPath, started, now, ids, { ...req, url: requestPath });
        if (!response) return;
      }
    } catch (error) {
      log.php(`lamp dev failed on ${req.method} ${requestPath}: ${(error as Error).message}`);
      response = answer(gatewayAnswers.lambdaError, ids.apiRequestId);
    }
    send(req, connection, requestPath, started, ids.apiRequestId, response, isFile);
  };

  const handle = (req: IncomingRequest, connection: HttpConnection): void => {
    const started = performance.now();
    const { method, url } = req;
    const question = url.indexOf("?");
    const requestPath = question >= 0 ? url.slice(0, question) : url;
    const now = ctx.clock.now();
    const ids = nextIds(now);
    const apiRequestId = ids.apiRequestId;
    let early: OutgoingResponse | undefined;
    try {
      const headSize = requestHeadSize(method, url, req.httpVersion, req.rawHeaders);
      const headerSize = headSize > requestHeaderLimit ? requestHeaderSize(method, url, req.httpVersion, req.rawHeaders) : 0;
      if (headSize > viewerRequestHeadLimit) {
        limitHit(method, requestPath, "viewer-request-head", headSize);
        early = answer(gatewayAnswers.headersTooLarge, apiRequestId, true);
      } else if (headerSize > requestHeaderLimit) {
        limitHit(method, requestPath, "request-headers", headerSize);
        early = answer(gatewayAnswers.headersTooLarge, apiRequestId, true);
      } else if (hasEncodedNul(requestPath)) {
        // nginx answers 400; php-fpm would cut the path at the NUL and run /wp-config.php for /wp-config.php%00.css.
        log.debug(`${method} ${requestPath}: 400 (a NUL byte in the path)`);
        early = { statusCode: 400, headers: ["Content-Type", "text/html; charset=utf-8", "apigw-requestid", apiRequestId], body: badRequestBody };
      } else if (requestPath.startsWith(assetsPathPrefix)) {
        void serveAsset(req, connection, requestPath, started, apiRequestId);
      } else if ((method === "GET" || method === "HEAD") && isStaticRequestPath(requestPath)) {
        void serveStaticOrPhp(req, connection, requestPath, started, now, ids);
      } else if (req.bodyTooLarge) {
        limitHit(method, requestPath, "request-payload");
        early = answer(gatewayAnswers.requestTooLarge, apiRequestId);
      } else {
        early = invoke(req, connection, requestPath, started, now, ids);
      }
    } catch (error) {
      log.php(`lamp dev failed on ${method} ${requestPath}: ${(error as Error).message}`);
      early = answer(gatewayAnswers.lambdaError, apiRequestId);
    }
    if (early) send(req, connection, requestPath, started, apiRequestId, early);
  };

  const server = new HttpServer(
    {
      // Node's own header limit is 16 KB; a larger one lets API Gateway's 10 KB limit decide, with its answer.
      maxHeaderBytes: 64 * 1024,
      maxBodyBytes: lambdaPayloadLimit,
      keepAliveTimeoutMs: 5_000,
      requestTimeoutMs: 300_000,
      headersTimeoutMs: 60_000,
      now: () => ctx.clock.now(),
    },
    handle,
  );
  server.onClientError = (statusCode, reason) => log.debug(`rejected a malformed request: ${statusCode} (${reason})`);
  let address: AddressInfo;
  try {
    address = await server.listen(options.port, options.host);
  } catch (error) {
    writes.close();
    sessions.close();
    client.close();
    await fpm.stop();
    await database?.stop();
    const code = errnoCode(error);
    if (code === "EADDRINUSE") {
      throw new LampError("io", `Port ${options.port} on ${options.host} is already in use.`, "Stop the other server or pass --port with a free port.");
    }
    if (code === "EACCES") throw new LampError("io", `Not allowed to listen on port ${options.port}.`, "Use a port above 1023, e.g. --port 8000.");
    throw new LampError("io", `Cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  localPort = address.port;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      writes.close();
      sessions.close();
      client.close();
      await fpm.stop();
      await database?.stop();
      log.flush?.();
    })());

  return {
    url: `http://${hostForUrl}:${address.port}`,
    port: address.port,
    phpFpmBinary: binary,
    phpFpmPid: fpm.pid,
    phpFpmSockets: fpm.socketPaths,
    phpTmpDir: fpm.tmpDir,
    instanceTmpDirs: fpm.instanceTmpDirs,
    readOnly,
    phpTimeLimitMs: answerAfterMs,
    apiDomain,
    watchingWrites: writes.ready,
    database: database && { address: `127.0.0.1:${database.address.port}`, version: database.version, pid: database.pid, socketPath: database.socketPath },
    died,
    close,
  };
}

/** The router's (and nginx's) answer to a path it refuses. */
const badRequestBody = Buffer.from("<html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>\n");

/** Whether a percent-encoded request path decodes to a NUL byte somewhere (`%00`). */
export function hasEncodedNul(encodedPath: string): boolean {
  // A raw NUL never gets this far: the HTTP parser refuses it.
  const percent = encodedPath.indexOf("%");
  return percent >= 0 && /%00/.test(encodedPath.slice(percent));
}

/** What the bucket is asked: the path and the conditional-GET headers of the request. */
function assetRequestOf(req: IncomingRequest, encodedPath: string, requestId: string): AssetRequest {
  return {
    method: req.method,
    encodedPath,
    ifNoneMatch: headerValue(req.rawHeaders, "if-none-match", true),
    ifModifiedSince: headerValue(req.rawHeaders, "if-modified-since", false),
    range: headerValue(req.rawHeaders, "range", false),
    requestId,
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

export interface DevOptions extends DevServerOptions {}

/** `lamp dev`: serves until Ctrl-C / SIGTERM (ctx.signal), then stops php-fpm and cleans up. */
export async function dev(options: DevOptions, ctx: Context): Promise<void> {
  const server = await startDevServer(options, ctx);
  const { colors } = ctx.ui;
  // The URL is the command's result (stdout); the lines about the run are banners (stderr), as every command's.
  ctx.ui.success(`lamp dev: ${colors.bold(server.url)}`);
  ctx.ui.note(
    colors.dim(
      `  ${effectiveHandler(options.project.config)} via ${server.phpFpmBinary} (${options.workers} workers) · /assets/* from ${options.project.config.assets.dir}/ · static files of ${options.project.config.documentRoot}/ before PHP · ` +
        `Lambda limits on (6 MB payloads, PHP stopped after ${server.phpTimeLimitMs / 1000} s, 10 KB headers) · Ctrl-C to stop`,
    ),
  );
  const layerOn = existsSync(path.join(options.project.root, "php", "conf.d", "lamp.ini"));
  ctx.ui.note(
    colors.dim(
      `  as behind CloudFront: Host is ${server.apiDomain}, the browser's host in X-Forwarded-Host · ` +
        (layerOn ? "runtime layer on (php/lamp-runtime.php): PHP sees the browser's host and address" : "runtime layer off: PHP sees the API Gateway host") +
        (server.readOnly ? " · project folder read-only, as /var/task" : " · project folder writable (--writable): writes into it are reported") +
        ` · ${options.workers} instance${options.workers === 1 ? "" : "s"}, each with its own /tmp · the function's environment only`,
    ),
  );
  if (server.database) ctx.ui.note(colors.dim(`  MySQL (${server.database.version}) on ${server.database.address}, data in .lamp/mariadb · PHP gets DB_HOST… and DATABASE_URL`));
  const schedules = await startDevSchedules(options.project, ctx);
  ctx.ui.result({ url: server.url, phpFpm: server.phpFpmBinary, workers: options.workers, ...(server.database ? { database: server.database.address } : {}) });
  const stopped = await new Promise<string | undefined>((resolve) => {
    if (ctx.signal.aborted) resolve(undefined);
    ctx.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    void server.died.then(resolve);
  });
  await schedules?.stop();
  await server.close();
  if (stopped) throw new LampError("failed", stopped);
  ctx.ui.note(server.database ? "Stopped php-fpm, the database and the dev server." : "Stopped php-fpm and the dev server.");
}

/** lamp.json's schedules, run at their times through the console handler, as in Lambda (src/console). */
async function startDevSchedules(project: Project, ctx: Context): Promise<{ stop(): Promise<void> } | undefined> {
  if ((project.config.schedule ?? []).length === 0) return undefined;
  const [{ startLocalSchedules }, { runLocal }] = await Promise.all([import("../console/local-schedule.js"), import("../console/local.js")]);
  const schedules = startLocalSchedules(project, ctx, (args, runCtx) => runLocal({ project, args, output: [1, 2] }, runCtx));
  const now = ctx.clock.now();
  for (const schedule of schedules.schedules) {
    const next = schedule.next(now);
    ctx.ui.note(ctx.ui.colors.dim(`  schedule ${schedule.entry.run} (${schedule.expression}${schedule.timezone === "UTC" ? "" : ` ${schedule.timezone}`}): next run ${next === undefined ? "never" : new Date(next).toISOString()}`));
  }
  return schedules;
}
