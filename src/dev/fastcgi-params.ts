import type { ApiGatewayV2Event } from "./event.js";
import { rebuildQueryString } from "./query-string.js";

/**
 * API Gateway v2 event -> the FastCGI request Bref 3's FPM runtime sends to php-fpm
 * (HttpRequestEvent + FpmHandler::eventToFastCgiRequest), param for param and in the same
 * order, so PHP's $_SERVER, $_GET, $_POST, $_COOKIE and $_FILES match Lambda. Pure.
 */

/** The Lambda context Bref serialises into LAMBDA_INVOCATION_CONTEXT. */
export interface InvocationContext {
  awsRequestId: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string;
}

export interface FastCgiRequestData {
  params: [string, string][];
  body: Buffer;
}

/** PHP's json_encode with default flags: `/` escaped, non-ASCII as \uXXXX. */
export function phpJsonEncode(value: unknown): string {
  const json = JSON.stringify(value);
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(json)) return json.includes("/") ? json.replaceAll("/", "\\/") : json;
  return json.replace(/[/\u0080-\uffff]/g, (char) => (char === "/" ? "\\/" : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

// What JSON escapes, and what PHP escapes on top (non-ASCII); slashes are escaped separately.
// eslint-disable-next-line no-control-regex
const jsonEscaped = /["\\\x00-\x1f\u0080-\uffff]/;

/** Whether an object's own keys are exactly `keys`, in that order (JSON keeps insertion order). */
function hasKeys(value: object, keys: readonly string[]): boolean {
  let index = 0;
  for (const key in value) {
    if (key !== keys[index] || !Object.hasOwn(value, key)) return false;
    index += 1;
  }
  return index === keys.length;
}

function allStrings(values: readonly unknown[]): boolean {
  for (const value of values) if (typeof value !== "string") return false;
  return true;
}

const invocationContextKeys = ["awsRequestId", "deadlineMs", "invokedFunctionArn", "traceId"];
const requestContextKeys = ["accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage", "time", "timeEpoch"];
const requestContextHttpKeys = ["method", "path", "protocol", "sourceIp", "userAgent"];

/**
 * phpJsonEncode of the two contexts, written field by field when they have the shape the dev
 * server builds and no string needs escaping but its slashes (JSON.stringify, then escaping,
 * costs several times more); generic otherwise.
 */
function invocationContextJson(context: InvocationContext): string {
  const { awsRequestId, invokedFunctionArn, traceId } = context;
  if (
    !hasKeys(context, invocationContextKeys) ||
    !Number.isFinite(context.deadlineMs) ||
    !allStrings([awsRequestId, invokedFunctionArn, traceId]) ||
    jsonEscaped.test(awsRequestId + invokedFunctionArn + traceId)
  ) {
    return phpJsonEncode(context);
  }
  return `{"awsRequestId":"${slashes(awsRequestId)}","deadlineMs":${context.deadlineMs},"invokedFunctionArn":"${slashes(invokedFunctionArn)}","traceId":"${slashes(traceId)}"}`;
}

function requestContextJson(context: ApiGatewayV2Event["requestContext"]): string {
  const http = context.http;
  if (
    !hasKeys(context, requestContextKeys) ||
    typeof http !== "object" ||
    http === null ||
    !hasKeys(http, requestContextHttpKeys) ||
    !Number.isFinite(context.timeEpoch)
  ) {
    return phpJsonEncode(context);
  }
  const { accountId, apiId, domainName, domainPrefix, requestId, routeKey, stage, time } = context;
  const { method, path, protocol, sourceIp, userAgent } = http;
  const strings = [accountId, apiId, domainName, domainPrefix, requestId, routeKey, stage, time, method, path, protocol, sourceIp, userAgent];
  if (!allStrings(strings) || jsonEscaped.test(strings.join(""))) return phpJsonEncode(context);
  return (
    `{"accountId":"${slashes(accountId)}","apiId":"${slashes(apiId)}","domainName":"${slashes(domainName)}","domainPrefix":"${slashes(domainPrefix)}",` +
    `"http":{"method":"${slashes(method)}","path":"${slashes(path)}","protocol":"${slashes(protocol)}","sourceIp":"${slashes(sourceIp)}","userAgent":"${slashes(userAgent)}"},` +
    `"requestId":"${slashes(requestId)}","routeKey":"${slashes(routeKey)}","stage":"${slashes(stage)}","time":"${slashes(time)}","timeEpoch":${context.timeEpoch}}`
  );
}

/** A field of the fast path with PHP's `\/` for each slash (its only escape there): per field, not over the whole document. */
function slashes(text: string): string {
  return text.includes("/") ? text.replaceAll("/", "\\/") : text;
}

/** PHP's empty() on a string: "" and "0" are empty. */
function phpEmpty(value: string | undefined): boolean {
  return value === undefined || value === "" || value === "0";
}

/** PHP's (int) cast on a numeric-leading string. */
function phpInt(value: string): number {
  const match = /^\s*[+-]?\d+/.exec(value);
  return match ? parseInt(match[0], 10) : 0;
}

const paramNames = new Map<string, string>();

/** `x-forwarded-for` -> `HTTP_X_FORWARDED_FOR`; browsers send the same few names, so they are remembered (up to a bound). */
function httpParamName(lowerCaseName: string): string {
  let param = paramNames.get(lowerCaseName);
  if (param === undefined) {
    param = `HTTP_${lowerCaseName.replace(/-/g, "_").toUpperCase()}`;
    if (paramNames.size < 1000) paramNames.set(lowerCaseName, param);
  }
  return param;
}

export function eventToFastCgiRequest(event: ApiGatewayV2Event, scriptFilename: string, context: InvocationContext): FastCgiRequestData {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath ?? "/";
  const queryString = rebuildQueryString(event.rawQueryString ?? "");
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");

  // Header names lower-cased; a later duplicate (by case) wins, as with array_change_key_case.
  const headers = new Map<string, string>();
  const eventHeaders = event.headers ?? {};
  for (const name in eventHeaders) headers.set(name.toLowerCase(), eventHeaders[name]!);
  const hasBody = !phpEmpty(event.body);
  if (hasBody && !headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
  if (hasBody && !headers.has("content-length")) headers.set("content-length", String(body.length));
  if (event.cookies && event.cookies.length > 0) headers.set("cookie", event.cookies.join("; "));

  const port = String(phpInt(headers.get("x-forwarded-port") ?? "80"));
  const params: [string, string][] = [
    ["PATH_INFO", path],
    ["QUERY_STRING", queryString],
    ["LAMBDA_INVOCATION_CONTEXT", invocationContextJson(context)],
    ["LAMBDA_REQUEST_CONTEXT", requestContextJson(event.requestContext)],
  ];
  for (const [name, value] of headers) {
    // httpoxy: a `Proxy` request header must never become HTTP_PROXY, which HTTP clients read as their proxy.
    if (name === "proxy") continue;
    params.push([httpParamName(name), value]);
  }
  params.push(
    ["GATEWAY_INTERFACE", "FastCGI/1.0"],
    ["REQUEST_METHOD", method],
    ["REQUEST_URI", queryString === "" ? path : `${path}?${queryString}`],
    ["SCRIPT_FILENAME", scriptFilename],
    ["SERVER_SOFTWARE", "bref"],
    ["REMOTE_ADDR", "127.0.0.1"],
    ["REMOTE_PORT", port],
    ["SERVER_ADDR", "127.0.0.1"],
    ["SERVER_PORT", port],
    ["SERVER_NAME", headers.get("host") ?? "localhost"],
    // Bref reads requestContext.protocol, which v2 events do not have.
    ["SERVER_PROTOCOL", (event.requestContext as { protocol?: string }).protocol ?? "HTTP/1.1"],
    ["CONTENT_TYPE", headers.get("content-type") || "application/x-www-form-urlencoded"],
    ["CONTENT_LENGTH", String(body.length)],
  );
  return { params, body };
}
