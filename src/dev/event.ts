import { isUtf8 } from "node:buffer";

/**
 * HTTP request -> API Gateway HTTP API payload v2.0 event, as API Gateway builds it for the
 * routes `lamp init` declares (`ANY /` and `ANY /{proxy+}` on the `$default` stage) when the
 * request comes through the generated CloudFront: the API's own domain as Host, the viewer's Host
 * as X-Forwarded-Host (the template's CloudFront function), the viewer's address appended to
 * X-Forwarded-For by CloudFront and CloudFront's by API Gateway, and the distribution's origin
 * custom headers; headers whose name has an underscore are dropped, as the function drops them. Pure: everything that varies (time, ids, addresses) comes in as arguments.
 */

export interface ApiGatewayV2Event {
  version: "2.0";
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: ApiGatewayV2RequestContext;
  body?: string;
  isBase64Encoded: boolean;
}

export interface ApiGatewayV2RequestContext {
  accountId: string;
  apiId: string;
  domainName: string;
  domainPrefix: string;
  http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
  requestId: string;
  routeKey: string;
  stage: string;
  time: string;
  timeEpoch: number;
}

/** What the server knows about an incoming request, all bodies as bytes. */
export interface HttpRequestInput {
  method: string;
  /** The request target as sent: path and query, percent-encoded. */
  url: string;
  httpVersion: string;
  /** Node's rawHeaders: name, value, name, value... (values as latin1 byte strings). */
  rawHeaders: readonly string[];
  remoteAddress: string;
  body: Buffer;
}

export interface EventOptions {
  requestId: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** The port the dev server listens on: what the browser connected to. */
  localPort: number;
  /** The X-Ray trace header value for this request. */
  traceId: string;
  /** The HTTP API's id and domain (`<id>.execute-api.<region>.amazonaws.com`): what PHP gets as Host. */
  apiId: string;
  apiDomain: string;
  /** Headers CloudFront adds on its way to the API (template.yaml's OriginCustomHeaders), lower-case names. */
  originHeaders?: ReadonlyArray<readonly [string, string]>;
}

/** Headers that describe one hop and never reach the integration. */
const hopByHopHeaders = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

let lastSecond = NaN;
let lastTime = "";

/** API Gateway's requestContext.time: `24/Nov/2019:18:55:08 +0000` (the last one remembered: it changes once a second). */
function formatRequestTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second === lastSecond) return lastTime;
  const date = new Date(second * 1000);
  const pad = (value: number) => String(value).padStart(2, "0");
  lastTime = `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
  lastSecond = second;
  return lastTime;
}

/** Content types HTTP APIs pass as text; everything else arrives base64-encoded. */
function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/javascript" ||
    type === "application/graphql"
  );
}

/** A latin1 byte string (how Node hands over header bytes) as the UTF-8 text the JSON event carries. */
function bytesToText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
}

/** Percent-decodes a path the way HTTP APIs do for rawPath (bytes, then UTF-8). */
function decodePath(path: string): string {
  if (!path.includes("%")) return bytesToText(path);
  const bytes = Buffer.from(path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1");
  return bytes.toString("utf8");
}

/** An HTTP request as the API Gateway v2 event that the generated CloudFront + HTTP API would give the function. */
export function httpRequestToEvent(request: HttpRequestInput, options: EventOptions): ApiGatewayV2Event {
  const hash = request.url.indexOf("#");
  const target = hash >= 0 ? request.url.slice(0, hash) : request.url;
  const question = target.indexOf("?");
  const encodedPath = question >= 0 ? target.slice(0, question) : target;
  const rawQueryString = question >= 0 ? bytesToText(target.slice(question + 1)) : "";
  const rawPath = decodePath(encodedPath.startsWith("/") ? encodedPath : `/${encodedPath}`);
  const { headers, cookies, viewerHost } = viewerHeaders(request.rawHeaders, options.apiDomain);
  const sourceIp = request.remoteAddress.startsWith("::ffff:") ? request.remoteAddress.slice(7) : request.remoteAddress;
  addEdgeHeaders(headers, viewerHost, sourceIp, options);
  const isRoot = rawPath === "/";
  const routeKey = isRoot ? "ANY /" : "ANY /{proxy+}";
  const event: ApiGatewayV2Event = {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: options.apiId,
      domainName: options.apiDomain,
      domainPrefix: options.apiId,
      http: { method: request.method.toUpperCase(), path: rawPath, protocol: `HTTP/${request.httpVersion}`, sourceIp, userAgent: headers["user-agent"] ?? "" },
      requestId: options.requestId,
      routeKey,
      stage: "$default",
      time: formatRequestTime(options.now),
      timeEpoch: options.now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString) event.queryStringParameters = queryStringParameters(rawQueryString);
  if (!isRoot) event.pathParameters = { proxy: rawPath.slice(1) };
  if (request.body.length > 0) setBody(event, request.body, headers["content-type"]);
  return event;
}

/**
 * The viewer's headers as the event carries them: lower-cased, repeated ones joined with commas,
 * cookies apart; Host is the API's own domain (CloudFront's AllViewerExceptHostHeader), and the
 * viewer's host is returned for X-Forwarded-Host.
 */
function viewerHeaders(rawHeaders: readonly string[], apiDomain: string): { headers: Record<string, string>; cookies: string[]; viewerHost: string } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  let viewerHost = "";
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = bytesToText(rawHeaders[index + 1]!);
    // A name with "_" (X_Forwarded_Host) becomes the same PHP variable as its "-" twin, the later
    // one winning: the distribution's function drops such headers, as nginx and Apache do.
    if (hopByHopHeaders.has(name) || name.includes("_")) continue;
    if (name === "cookie") {
      for (const cookie of value.split(";")) {
        const trimmed = cookie.trim();
        if (trimmed) cookies.push(trimmed);
      }
      continue;
    }
    if (name === "host") {
      viewerHost = value;
      headers.host = apiDomain;
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers.host ??= apiDomain;
  return { headers, cookies, viewerHost };
}

/** What CloudFront and API Gateway add on the way in. */
function addEdgeHeaders(headers: Record<string, string>, viewerHost: string, sourceIp: string, options: EventOptions): void {
  // The viewer's address (CloudFront), then the address that called API Gateway (CloudFront's;
  // locally, lamp dev's own connection from the viewer).
  headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${sourceIp}, ${sourceIp}` : `${sourceIp}, ${sourceIp}`;
  headers["x-forwarded-port"] = String(options.localPort);
  headers["x-forwarded-proto"] = "http";
  headers["x-amzn-trace-id"] = options.traceId;
  // The CloudFront function replaces whatever X-Forwarded-Host the client sent.
  if (viewerHost) headers["x-forwarded-host"] = viewerHost;
  else delete headers["x-forwarded-host"];
  // Origin custom headers replace a viewer's header of the same name, as CloudFront does.
  if (options.originHeaders) for (const [name, value] of options.originHeaders) headers[name] = value;
}

/** A text body as it is, anything else base64-encoded (as HTTP APIs do). */
function setBody(event: ApiGatewayV2Event, body: Buffer, contentType: string | undefined): void {
  if (isTextContentType(contentType) && isUtf8(body)) {
    event.body = body.toString("utf8");
  } else {
    event.body = body.toString("base64");
    event.isBase64Encoded = true;
  }
}

/** Decoded query parameters; a repeated name has its values joined with commas. */
function queryStringParameters(rawQueryString: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const pair of rawQueryString.split("&")) {
    if (!pair) continue;
    const equals = pair.indexOf("=");
    const name = safeDecode(equals >= 0 ? pair.slice(0, equals) : pair);
    const value = safeDecode(equals >= 0 ? pair.slice(equals + 1) : "");
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
