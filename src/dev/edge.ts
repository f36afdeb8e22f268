import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";

/**
 * What the template's CloudFront does with an answer on its way to the browser, for `lamp dev`:
 * whether it would cache it (and for how long, or why not), and the compression it applies to
 * what it caches. Pure, apart from the compressor.
 *
 * Facts (CloudFront developer guide, "Manage how long content stays in the cache" and "Serve
 * compressed files"): s-maxage, then max-age, then Expires give the TTL, clamped to the policy's
 * MinTTL..MaxTTL; no-store, no-cache and private mean "not cached" only while MinTTL is 0; without
 * any of these the policy's DefaultTTL applies. CloudFront compresses gzip or brotli (brotli first
 * when the viewer takes both) for types it lists, bodies of 1,000 to 10,000,000 bytes, and never a
 * response that already has a Content-Encoding; a compressed answer's ETag becomes weak.
 */

export interface EdgeCachePolicy {
  name: string;
  minTtl: number;
  defaultTtl: number;
  maxTtl: number;
}

/** lamp's page cache policy (lamp-bootstrap stack): the default behaviour, PHP and the document root. */
export const pagesPolicy: EdgeCachePolicy = { name: "lamp-pages", minTtl: 0, defaultTtl: 0, maxTtl: 31_536_000 };
/** Managed-CachingOptimized: the /assets/* behaviour. */
export const assetsPolicy: EdgeCachePolicy = { name: "CachingOptimized", minTtl: 1, defaultTtl: 86_400, maxTtl: 31_536_000 };

/** The header `lamp dev` adds to every answer: what CloudFront would do with it. */
const edgeCacheHeader = "X-Lamp-Cache";

export interface EdgeVerdict {
  /** Seconds CloudFront would keep the answer; 0 = not cached. */
  ttl: number;
  /** The header's value, for the developer. */
  description: string;
}

/** Methods the behaviours cache (CachedMethods: GET, HEAD). */
const cachedMethods = new Set(["GET", "HEAD"]);

/** The value of a header in a flat name/value list (first occurrence, any case). */
function headerOf(headers: readonly string[], lowerCaseName: string): string | undefined {
  for (let index = 0; index + 1 < headers.length; index += 2) {
    const name = headers[index]!;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) return headers[index + 1];
  }
  return undefined;
}

function directive(cacheControl: string, name: string): string | true | undefined {
  if (cacheControl === "") return undefined;
  for (const part of cacheControl.split(",")) {
    const [key, value] = part.trim().split("=", 2) as [string, string | undefined];
    if (key.toLowerCase() === name) return value === undefined ? true : value.replace(/^"|"$/g, "");
  }
  return undefined;
}

/** How long CloudFront would cache an answer under `policy`, or why it would not. Pure. */
function edgeVerdict(method: string, statusCode: number, headers: readonly string[], policy: EdgeCachePolicy, nowMs: number): EdgeVerdict {
  if (!cachedMethods.has(method)) return { ttl: 0, description: `not cached: CloudFront caches GET and HEAD only, not ${method}` };
  const cacheControl = headerOf(headers, "cache-control") ?? "";
  const expires = headerOf(headers, "expires");
  // Most pages say nothing about caching: their verdict is the policy's, worked out once.
  if (cacheControl === "" && expires === undefined && policy.defaultTtl <= 0) return defaultVerdict(policy);
  const clamp = (seconds: number) => Math.min(policy.maxTtl, Math.max(policy.minTtl, seconds));
  let ttl: number;
  let because: string;
  const refusal = refusals.find((name) => directive(cacheControl, name) !== undefined);
  const sMaxAge = directive(cacheControl, "s-maxage");
  const maxAge = directive(cacheControl, "max-age");
  if (refusal) {
    ttl = policy.minTtl;
    because = `Cache-Control ${refusal}${ttl > 0 ? `, but ${policy.name}'s MinTTL is ${ttl} s` : ""}`;
  } else if (typeof sMaxAge === "string" || typeof maxAge === "string") {
    const name = typeof sMaxAge === "string" ? "s-maxage" : "max-age";
    ttl = clamp(Number.parseInt((typeof sMaxAge === "string" ? sMaxAge : maxAge) as string, 10) || 0);
    because = `${name}=${typeof sMaxAge === "string" ? sMaxAge : maxAge}`;
  } else if (expires !== undefined) {
    const at = Date.parse(expires);
    ttl = clamp(Number.isNaN(at) ? 0 : Math.floor((at - nowMs) / 1000));
    because = `Expires ${expires}`;
  } else {
    ttl = policy.defaultTtl;
    because = noCachingHeaders(policy);
  }
  if (ttl <= 0) return { ttl: 0, description: `not cached: ${because}` };
  const cookie = headerOf(headers, "set-cookie") !== undefined ? "; WITH its Set-Cookie, sent to every viewer with the same cookies, query and host" : "";
  return { ttl, description: `would be cached ${ttl} s at the edge (${because}${statusCode >= 400 ? `, status ${statusCode}` : ""})${cookie}` };
}

const refusals = ["no-store", "no-cache", "private"];

function noCachingHeaders(policy: EdgeCachePolicy): string {
  return `no Cache-Control or Expires, ${policy.name}'s DefaultTTL is ${policy.defaultTtl} s`;
}

/** The verdict on an answer without Cache-Control or Expires under a policy that then caches nothing. */
const defaultVerdicts = new WeakMap<EdgeCachePolicy, EdgeVerdict>();
function defaultVerdict(policy: EdgeCachePolicy): EdgeVerdict {
  let verdict = defaultVerdicts.get(policy);
  if (!verdict) defaultVerdicts.set(policy, (verdict = { ttl: 0, description: `not cached: ${noCachingHeaders(policy)}` }));
  return verdict;
}

/** Media types CloudFront compresses ("File types that CloudFront compresses"), without parameters. */
const compressibleTypes = new Set([
  "text/html", "text/css", "text/plain", "text/javascript", "text/xml", "text/csv", "text/markdown", "text/richtext", "text/x-component",
  "application/javascript", "application/x-javascript", "application/ecmascript", "application/json", "application/ld+json", "application/manifest+json",
  "application/xml", "application/xhtml+xml", "application/rss+xml", "application/atom+xml", "application/vnd.api+json", "application/x-web-app-manifest+json",
  "application/vnd.ms-fontobject", "application/x-font-ttf", "application/x-font-opentype", "application/x-font-truetype", "application/wasm",
  "font/eot", "font/otf", "font/opentype", "font/ttf", "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
]);

function isCompressibleType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(";");
  return compressibleTypes.has((semicolon >= 0 ? contentType.slice(0, semicolon) : contentType).trim().toLowerCase());
}

export type EdgeEncoding = "br" | "gzip";

/** The encoding CloudFront would pick from the viewer's Accept-Encoding: brotli first, then gzip. */
function chooseEncoding(acceptEncoding: string | undefined): EdgeEncoding | undefined {
  if (!acceptEncoding) return undefined;
  const accepted = new Set<string>();
  for (const part of acceptEncoding.toLowerCase().split(",")) {
    const [coding, ...parameters] = part.trim().split(";");
    if (parameters.some((parameter) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(parameter))) continue;
    accepted.add(coding!.trim());
  }
  if (accepted.has("br")) return "br";
  if (accepted.has("gzip")) return "gzip";
  return undefined;
}

/** Whether CloudFront would compress this answer (before looking at the viewer's Accept-Encoding). */
function edgeCompresses(statusCode: number, headers: readonly string[], bodyLength: number): boolean {
  return (
    statusCode === 200 &&
    bodyLength >= 1000 &&
    bodyLength <= 10_000_000 &&
    headerOf(headers, "content-encoding") === undefined &&
    isCompressibleType(headerOf(headers, "content-type"))
  );
}

/** Compresses as an edge server would: fast settings (CloudFront's own compressor and levels are not published). */
function compressBody(body: Buffer, encoding: EdgeEncoding): Buffer {
  return encoding === "br"
    ? brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipSync(body, { level: 6 });
}

/**
 * The headers of a compressed answer: Content-Encoding added, Vary: Accept-Encoding (added to
 * any Vary the origin sent), a strong ETag made weak.
 */
function compressedHeaders(headers: readonly string[], encoding: EdgeEncoding): string[] {
  const out: string[] = [];
  let varied = false;
  for (let index = 0; index + 1 < headers.length; index += 2) {
    const name = headers[index]!;
    let value = headers[index + 1]!;
    const lower = name.toLowerCase();
    if (lower === "etag" && !value.startsWith("W/")) value = `W/${value}`;
    if (lower === "vary") {
      varied = true;
      if (!/(^|,)\s*accept-encoding\s*(,|$)/i.test(value)) value = `${value}, Accept-Encoding`;
    }
    out.push(name, value);
  }
  if (!varied) out.push("Vary", "Accept-Encoding");
  out.push("Content-Encoding", encoding);
  return out;
}

export interface EdgeResponse {
  statusCode: number;
  headers: readonly string[];
  body: Buffer;
  close?: boolean;
  /** The same headers array comes back for every answer of this file version (the dev server's cached files). */
  reusedHeaders?: boolean;
  /** A HEAD answer's Content-Length when the body is left empty. */
  headLength?: number;
}

/** Compressed bodies of answers that come back as the same Buffer (the dev server's cached files). */
const compressedBodies = new WeakMap<Buffer, Partial<Record<EdgeEncoding, Buffer>>>();

function compressedOnce(body: Buffer, encoding: EdgeEncoding): Buffer {
  let entry = compressedBodies.get(body);
  if (!entry) compressedBodies.set(body, (entry = {}));
  return (entry[encoding] ??= compressBody(body, encoding));
}

/**
 * An answer as the browser would get it through CloudFront: the X-Lamp-Cache verdict added, and
 * compressed when CloudFront would cache it (the case its documentation covers) and the viewer
 * takes gzip or brotli. Answers PHP compressed itself, or not cacheable, pass unchanged.
 */
export function throughTheEdge(
  method: string,
  acceptEncoding: string | undefined,
  policy: EdgeCachePolicy,
  response: EdgeResponse,
  nowMs: number,
): EdgeResponse {
  const encoding = chooseEncoding(acceptEncoding);
  // The dev server's cached files come back with the same headers array (reusedHeaders): their
  // edge headers are computed once per file version, encoding and status (static files carry no
  // Expires to age), and are themselves reused. A page's headers are new every time:
  // remembering them would only cost.
  const memoize = response.reusedHeaders === true && cachedMethods.has(method);
  let memos = memoize ? edgeHeaders.get(response.headers) : undefined;
  const known = memos?.find((memo) => memo.statusCode === response.statusCode && memo.policy === policy && memo.encoding === encoding);
  if (known) return edgeAnswer(response, known.headers, known.compress ? compressedOnce(response.body, known.compress) : response.body, true);
  const verdict = edgeVerdict(method, response.statusCode, response.headers, policy, nowMs);
  let headers = [...response.headers, edgeCacheHeader, verdict.description];
  let compress: EdgeEncoding | undefined;
  if (verdict.ttl > 0 && edgeCompresses(response.statusCode, response.headers, response.body.length)) {
    if (encoding === undefined) {
      if (headerOf(headers, "vary") === undefined) headers.push("Vary", "Accept-Encoding");
    } else {
      headers = compressedHeaders(headers, encoding);
      compress = encoding;
    }
  }
  if (memoize) {
    if (!memos) edgeHeaders.set(response.headers, (memos = []));
    memos.push({ statusCode: response.statusCode, policy, encoding, headers, compress });
  }
  return edgeAnswer(response, headers, compress ? compressedOnce(response.body, compress) : response.body, memoize);
}

/** The answer as it leaves the edge: always of one shape (a spread of the many shapes answers come in costs more, per request). */
function edgeAnswer(response: EdgeResponse, headers: readonly string[], body: Buffer, reusedHeaders: boolean): EdgeResponse {
  return { statusCode: response.statusCode, headers, body, close: response.close, reusedHeaders, headLength: response.headLength };
}

/** The edge headers of an answer whose headers array comes back: one per status, policy and encoding (a handful). */
interface EdgeMemo {
  statusCode: number;
  policy: EdgeCachePolicy;
  encoding: EdgeEncoding | undefined;
  headers: string[];
  compress: EdgeEncoding | undefined;
}

const edgeHeaders = new WeakMap<readonly string[], EdgeMemo[]>();
