import { isUtf8 } from "node:buffer";

/**
 * php-fpm's CGI response -> the API Gateway v2 response Bref returns -> the HTTP response
 * API Gateway sends. Pure. Bodies stay bytes: `body` is the raw body, `isBase64Encoded` says
 * how it travels through Lambda (and so how big the payload is).
 */

export interface CgiResponse {
  /** Header lines in order, names as PHP sent them. */
  headers: [string, string][];
  body: Buffer;
}

export interface ApiGatewayV2Response {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  isBase64Encoded: boolean;
  body: Buffer;
}

export interface HttpResponseOutput {
  statusCode: number;
  /** Flat name/value list; Set-Cookie may repeat. */
  headers: [string, string][];
  body: Buffer;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const LFLF = Buffer.from("\n\n");

/** Splits a CGI response at the blank line that ends its headers. */
export function parseCgiResponse(stdout: Buffer): CgiResponse {
  let end = stdout.indexOf(CRLFCRLF);
  let separator = 4;
  // A bare-LF blank line counts only if it comes first: search the headers, never the whole body.
  const lf = (end < 0 ? stdout : stdout.subarray(0, end)).indexOf(LFLF);
  if (lf >= 0) {
    end = lf;
    separator = 2;
  }
  if (end < 0) return { headers: [], body: stdout };
  const headers: [string, string][] = [];
  const text = stdout.toString("latin1", 0, end);
  let start = 0;
  while (start < text.length) {
    let lineEnd = text.indexOf("\n", start);
    if (lineEnd < 0) lineEnd = text.length;
    const contentEnd = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
    const colon = text.indexOf(":", start);
    if (colon > start && colon < contentEnd) headers.push([text.slice(start, colon).trim(), text.slice(colon + 1, contentEnd).trim()]);
    start = lineEnd + 1;
  }
  return { headers, body: stdout.subarray(end + separator) };
}

/** `content-type` -> `Content-Type`, as Bref writes header names. */
export function capitalizeHeaderName(name: string): string {
  let capitalized = capitalizedNames.get(name);
  if (capitalized === undefined) {
    capitalized = name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
    // PHP sends the same few names over and over: remember them, up to a bound.
    if (capitalizedNames.size < 1000) capitalizedNames.set(name, capitalized);
  }
  return capitalized;
}
const capitalizedNames = new Map<string, string>();

export type ToV2Result =
  | { ok: true; response: ApiGatewayV2Response }
  | { ok: false; reason: "binary-body" };

/**
 * Bref's FpmHandler + HttpResponse::toApiGatewayFormatV2. With BREF_BINARY_RESPONSES unset, a
 * body that is not valid UTF-8 cannot be JSON-encoded and the invocation fails in Lambda.
 */
export function cgiToV2Response(cgi: CgiResponse, binaryResponses: boolean): ToV2Result {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of cgi.headers) {
    const key = name.toLowerCase();
    const values = grouped.get(key);
    if (values) values.push(value);
    else grouped.set(key, [value]);
  }
  let statusCode = 200;
  const status = grouped.get("status");
  if (status) {
    statusCode = parseInt(status[0]!, 10) || 0;
    grouped.delete("status");
  }
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, values] of grouped) {
    const capitalized = capitalizeHeaderName(name);
    if (capitalized === "Set-Cookie") cookies = values;
    else headers[capitalized] = values.length === 1 ? values[0]! : values.join(", ");
  }
  if (!binaryResponses && !isUtf8(cgi.body)) return { ok: false, reason: "binary-body" };
  return { ok: true, response: { statusCode, headers, cookies, isBase64Encoded: binaryResponses, body: cgi.body } };
}

/** Headers API Gateway computes itself rather than passing on. */
const recomputedHeaders = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/** What API Gateway sends the browser for a v2 response. */
export function v2ToHttpResponse(response: ApiGatewayV2Response, apiRequestId: string): HttpResponseOutput {
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(response.headers)) {
    if (!recomputedHeaders.has(name.toLowerCase())) headers.push([name, value]);
  }
  for (const cookie of response.cookies) headers.push(["Set-Cookie", cookie]);
  headers.push(["apigw-requestid", apiRequestId]);
  return { statusCode: response.statusCode, headers, body: response.body };
}

/** Bytes the v2 response takes as Lambda's JSON payload (what the 6 MB response limit counts). */
export function v2ResponsePayloadSize(response: ApiGatewayV2Response): number {
  const bodyLength = response.isBase64Encoded
    ? Math.ceil(response.body.length / 3) * 4
    : jsonStringLength(response.body);
  const rest = JSON.stringify({ ...response, body: "" });
  return Buffer.byteLength(rest) + bodyLength;
}

/** Bytes of a UTF-8 body once escaped as a JSON string (escapes make it grow; a cheap bound first). */
function jsonStringLength(body: Buffer): number {
  return Buffer.byteLength(JSON.stringify(body.toString("utf8"))) - 2;
}
