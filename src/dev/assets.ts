import { createHash } from "node:crypto";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { cacheControlFor, contentTypeFor } from "../assets/media.js";
import { assetExclusion, isStaticType, pathInsideFolder, publicAssetExclusion, staticTypeExclusion } from "../assets/selection.js";

/**
 * /assets/* as CloudFront + the private S3 bucket answer it: the same Content-Type and
 * Cache-Control the upload sets (shared modules), an MD5 ETag as S3 computes for a single-part
 * upload, 304 for a matching If-None-Match, and 403 AccessDenied for anything missing or not
 * public (S3 answers 403, not 404, when CloudFront may read objects but not list the bucket).
 */

export const assetsPathPrefix = "/assets/";

export type AssetPath = { ok: true; relativePath: string } | { ok: false; reason: string };

/**
 * The path inside the assets folder that a request path (percent-encoded, starting with
 * /assets/) names — or why it names none. Pure: no file system.
 */
export function assetRelativePath(encodedPath: string, exclude: readonly string[], pathPrefix = assetsPathPrefix): AssetPath {
  const rest = encodedPath.slice(pathPrefix.length);
  if (/%2f|%5c/i.test(rest)) return { ok: false, reason: "encoded slash" };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return { ok: false, reason: "malformed percent-encoding" };
  }
  if (decoded.includes("\\") || decoded.includes("\0")) return { ok: false, reason: "invalid character" };
  if (decoded.split("/").some((segment) => segment === ".." || segment === ".")) return { ok: false, reason: "path traversal" };
  const exclusion = assetExclusion(decoded, exclude);
  if (exclusion === "dotfile") return { ok: false, reason: "dotfile" };
  if (exclusion === "excluded") return { ok: false, reason: "excluded by lamp.json assets.exclude" };
  if (exclusion) return { ok: false, reason: "not a file path" };
  return { ok: true, relativePath: decoded };
}

export interface AssetResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Why the answer is a 403, for the log line. */
  reason?: string;
}

export interface AssetRequest {
  method: string;
  encodedPath: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  requestId: string;
}

interface CachedFile {
  key: string;
  etag: string;
  body: Buffer;
}

/**
 * Whether a request path (percent-encoded) may name a static file of the document root, by the
 * same test the viewer-request function applies (templates/cloudfront/viewer-request.js): an
 * allow-listed extension, no dot-segment (plain or encoded), not under /assets/. Pure and cheap:
 * other paths go straight to PHP.
 */
export function isStaticRequestPath(encodedPath: string): boolean {
  // The extension first: most requests to PHP have none, and this runs on every request.
  return isStaticType(encodedPath) && !encodedPath.startsWith(assetsPathPrefix) && !/\/(\.|%2e)/i.test(encodedPath);
}

export interface AssetServerOptions {
  /** The URL path the folder is served at: `/assets/`, or `/` for the document root. */
  pathPrefix?: string;
  /** The document root: only allow-listed static types, by name and by symlink target. */
  staticTypesOnly?: boolean;
}

export class AssetServer {
  private readonly cache = new Map<string, CachedFile>();
  private realRoot: string | undefined;
  private readonly pathPrefix: string;
  private readonly staticTypesOnly: boolean;

  constructor(
    private readonly root: string,
    private readonly exclude: readonly string[],
    private readonly cacheControl: Record<string, string>,
    options: AssetServerOptions = {},
  ) {
    this.pathPrefix = options.pathPrefix ?? assetsPathPrefix;
    this.staticTypesOnly = options.staticTypesOnly ?? false;
  }

  async serve(request: AssetRequest): Promise<AssetResponse> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      // The /assets/* behaviour allows GET and HEAD only; CloudFront refuses the rest.
      return { statusCode: 403, headers: { "Content-Type": "text/html" }, body: Buffer.from("This distribution is not configured to allow the HTTP request method that was used for this request.\n"), reason: `method ${request.method}` };
    }
    const resolved = assetRelativePath(request.encodedPath, this.exclude, this.pathPrefix);
    if (!resolved.ok) return this.denied(request, resolved.reason);

    const file = await this.read(resolved.relativePath);
    if (typeof file === "string") return this.denied(request, file);

    const stats = file.stats;
    const headers: Record<string, string> = {
      "Content-Type": contentTypeFor(resolved.relativePath),
      "Cache-Control": cacheControlFor(resolved.relativePath, this.cacheControl),
      ETag: file.etag,
      "Last-Modified": new Date(Math.floor(stats.mtimeMs / 1000) * 1000).toUTCString(),
    };
    if (notModified(request, file.etag, stats.mtimeMs)) return { statusCode: 304, headers, body: Buffer.alloc(0) };
    return { statusCode: 200, headers, body: file.body };
  }

  private async read(relativePath: string): Promise<{ etag: string; body: Buffer; stats: import("node:fs").Stats } | string> {
    this.realRoot ??= await realpath(this.root).catch(() => path.resolve(this.root));
    const candidate = path.join(this.root, ...relativePath.split("/"));
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      return "not found";
    }
    // A symlink may point anywhere: only what really lives inside the folder, under a public
    // name, is served — the rule sync-assets applies to what it uploads.
    const targetExclusion = publicAssetExclusion(relativePath, pathInsideFolder(this.realRoot, real), this.exclude);
    if (targetExclusion === "symlink-outside") return "resolves outside the assets folder";
    if (targetExclusion === "symlink-to-excluded") return "resolves to a file excluded by lamp.json assets.exclude";
    if (targetExclusion) return "resolves to a dotfile";
    if (this.staticTypesOnly && staticTypeExclusion(relativePath, pathInsideFolder(this.realRoot, real))) return "not an allow-listed static type";
    const stats = await stat(real).catch(() => undefined);
    if (!stats?.isFile()) return "not a file";
    const key = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    const cached = this.cache.get(real);
    if (cached?.key === key) return { etag: cached.etag, body: cached.body, stats };
    const body = await readFile(real);
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    this.cache.set(real, { key, etag, body });
    return { etag, body, stats };
  }

  private denied(request: AssetRequest, reason: string): AssetResponse {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${request.requestId}</RequestId></Error>`,
    );
    return { statusCode: 403, headers: { "Content-Type": "application/xml" }, body, reason };
  }
}

/** S3's conditional GET: If-None-Match wins; otherwise If-Modified-Since. */
function notModified(request: AssetRequest, etag: string, mtimeMs: number): boolean {
  if (request.ifNoneMatch !== undefined) {
    return request.ifNoneMatch.split(",").some((tag) => {
      const trimmed = tag.trim();
      return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
    });
  }
  if (request.ifModifiedSince !== undefined) {
    const since = Date.parse(request.ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}
