import { createHash } from "node:crypto";
import { createReadStream, statfsSync, statSync, watch, type FSWatcher, type Stats } from "node:fs";
import { open, readFile, realpath, stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { cacheControlFor, contentTypeFor } from "../assets/media.js";
import { assetExclusion, isStaticType, pathInsideFolder, publicAssetExclusion, staticTypeExclusion } from "../assets/selection.js";

/**
 * /assets/* as CloudFront + the private S3 bucket answer it: the same Content-Type and
 * Cache-Control the upload sets (shared modules), an MD5 ETag as S3 computes for a single-part
 * upload, 304 for a matching If-None-Match, one byte range (206, 416) as S3 serves it, and 403 AccessDenied for anything missing or not
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
  /** name, value, name, value... The same array for every answer of an unchanged file: callers must not change it. */
  headers: readonly string[];
  body: Buffer;
  /** Why the answer is a 403, for the log line. */
  reason?: string;
  /** `headers` is the cached file's own array, the same for every such answer (see OutgoingResponse). */
  reusedHeaders?: boolean;
  /** A HEAD of a file not kept in memory: its size, for Content-Length, without reading it. */
  headLength?: number;
}

export interface AssetRequest {
  method: string;
  encodedPath: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /** `bytes=0-99`, `bytes=100-`, `bytes=-100`: one range, as S3 answers it. */
  range?: string;
  /** The request's ids: API Gateway's, for an error's RequestId (made only then). */
  ids: { readonly apiRequestId: string };
}

/** A file as served: its bytes and its answer's headers, computed once per version of the file. */
interface CachedFile {
  /** inode, size and mtime: a change of any means the file changed. */
  ino: number;
  size: number;
  real: string;
  /** The bytes, kept for files up to maxCachedBodyBytes; larger ones are read for each request (only a range's bytes for a range). */
  body: Buffer | undefined;
  etag: string;
  mtimeMs: number;
  headers: string[];
  /** When the path's resolution (realpath, exclusions) was last checked, ms. */
  resolvedAt: number;
  /** The folder holding the file, and its version when the file was read. */
  folder: WatchedFolder;
  folderVersion: number;
}

/**
 * A folder of served files, watched (inotify): any change in it raises its version, so a cached
 * file whose folder has not changed is answered without a system call. Where a folder cannot be
 * watched, or its changes are not reported at once (see reportsChangesAtOnce), its files are
 * stat'ed on every request instead.
 */
interface WatchedFolder {
  version: number;
  watcher: FSWatcher | undefined;
  /** The folder's inode when its watch began: another folder at its path (a parent renamed) needs a watch of its own. */
  ino: number | undefined;
}

/**
 * Files up to this size keep their bytes in memory; larger ones (a video) are read from disk for each
 * request. CloudFront's compression ceiling: a file it would compress is kept, so that its compressed
 * bytes are made once per version, not per request.
 */
const maxCachedBodyBytes = 10_000_000;
/** The kept bytes of all files, at most: past this the cache starts again empty. */
const maxCachedBytes = 256 * 1024 * 1024;

/** Folders watched per server at most; past this, files are stat'ed on every request. */
const maxWatchedFolders = 1000;

/**
 * Linux file systems whose changes inotify reports as they are made (statfs magic numbers): ext2-4,
 * xfs, btrfs, tmpfs, overlayfs, zfs, f2fs. The notice is queued by the write itself, so it is read
 * before a request sent after the write. Elsewhere — network and host-shared folders (9p, NFS,
 * SMB, FUSE), whose remote changes inotify never sees, and macOS and Windows, whose notices come
 * late — a served file is stat'ed on every request.
 */
const fileSystemsReportingChanges = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010]);

function reportsChangesAtOnce(directory: string): boolean {
  if (process.platform !== "linux") return false;
  try {
    return fileSystemsReportingChanges.has(statfsSync(directory).type);
  } catch {
    return false;
  }
}

/**
 * How long a request path's resolution (realpath and the exclusion rules) is trusted. The file
 * itself is watched (or stat'ed on every request), so an edited file is served at once; a new
 * symlink or a newly excluded name takes up to this long — as does an edit that the system does
 * not report (a network or host-shared folder).
 */
const resolutionTtlMs = 1000;

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
  /** Milliseconds, for the resolution cache (performance.now by default). */
  now?: () => number;
  /** Watch the folders of served files where changes are reported at once (the default), or stat each file on every request. */
  watchFolders?: boolean;
}

export class AssetServer {
  /** By request path: what it resolved to, and that file's answer. */
  private readonly files = new Map<string, CachedFile>();
  private readonly folders = new Map<string, WatchedFolder>();
  /** Bytes kept by `files`. */
  private cachedBytes = 0;
  private closed = false;
  private realRoot: string | undefined;
  private readonly pathPrefix: string;
  private readonly staticTypesOnly: boolean;
  private readonly now: () => number;
  private readonly watchFolders: boolean;

  constructor(
    private readonly root: string,
    private readonly exclude: readonly string[],
    private readonly cacheControl: Record<string, string>,
    options: AssetServerOptions = {},
  ) {
    this.pathPrefix = options.pathPrefix ?? assetsPathPrefix;
    this.staticTypesOnly = options.staticTypesOnly ?? false;
    this.now = options.now ?? (() => performance.now());
    this.watchFolders = options.watchFolders ?? true;
  }

  /**
   * The bucket's answer. A cached, unchanged file is answered at once (no promise: under load
   * the awaits cost more than the answer); anything else after the file system is asked.
   */
  serve(request: AssetRequest): AssetResponse | Promise<AssetResponse> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      // The /assets/* behaviour allows GET and HEAD only; CloudFront refuses the rest.
      return { statusCode: 403, headers: ["Content-Type", "text/html"], body: Buffer.from("This distribution is not configured to allow the HTTP request method that was used for this request.\n"), reason: `method ${request.method}` };
    }
    const cached = this.unchanged(request.encodedPath);
    if (cached) return this.answer(request, cached);
    // A file read again (or for the first time) answers once it is read.
    return this.lookup(request.encodedPath).then((file) => (typeof file === "string" ? this.denied(request, file) : this.answer(request, file)));
  }

  private answer(request: AssetRequest, file: CachedFile): AssetResponse | Promise<AssetResponse> {
    if (notModified(request, file.etag, file.mtimeMs)) return { statusCode: 304, headers: file.headers, body: emptyBody, reusedHeaders: true };
    const range = request.range === undefined ? undefined : byteRange(request.range, file.size);
    if (range === "unsatisfiable") return this.invalidRange(request, file);
    if (range) {
      const [first, last] = range;
      const headers = [...file.headers, "Content-Range", `bytes ${first}-${last}/${file.size}`];
      if (file.body) return { statusCode: 206, headers, body: file.body.subarray(first, last + 1) };
      return readRange(file.real, first, last).then((body) => ({ statusCode: 206, headers, body }));
    }
    if (file.body) return { statusCode: 200, headers: file.headers, body: file.body, reusedHeaders: true };
    if (request.method === "HEAD") return { statusCode: 200, headers: file.headers, body: emptyBody, reusedHeaders: true, headLength: file.size };
    return readFile(file.real).then((body) => ({ statusCode: 200, headers: file.headers, body, reusedHeaders: true }));
  }

  /** Stops watching the folders of served files (a lookup still under way watches nothing new). */
  close(): void {
    this.closed = true;
    for (const folder of this.folders.values()) folder.watcher?.close();
    this.folders.clear();
    this.files.clear();
    this.cachedBytes = 0;
  }

  /** The cached file of a request path while its resolution is fresh and the file unchanged. */
  private unchanged(encodedPath: string): CachedFile | undefined {
    const cached = this.files.get(encodedPath);
    if (!cached || this.now() - cached.resolvedAt >= resolutionTtlMs) return undefined;
    const { folder } = cached;
    if (folder.watcher) return folder.version === cached.folderVersion ? cached : undefined;
    // Not watched: one stat, synchronous (a cached inode answers in microseconds), so an edit is seen at once.
    const stats = statSync(cached.real, { throwIfNoEntry: false });
    return stats?.isFile() && sameVersion(stats, cached) ? cached : undefined;
  }

  /**
   * The folder record of a served file, watched from the first time one of its files is read (before
   * the read, so that an edit during it is not missed).
   */
  private folderOf(directory: string): WatchedFolder {
    let folder = this.folders.get(directory);
    if (folder && !folder.watcher) return folder;
    // A folder above this one renamed (a build swapping its output folder) tells this watch nothing:
    // looked at here, when a path's resolution is checked again (at most once a second).
    const ino = statSync(directory, { throwIfNoEntry: false })?.ino;
    if (folder && folder.ino === ino) return folder;
    if (folder) this.forgetFolder(directory, folder);
    folder = { version: 0, watcher: undefined, ino };
    this.folders.set(directory, folder);
    if (this.closed || !this.watchFolders || this.folders.size > maxWatchedFolders || !reportsChangesAtOnce(directory)) return folder;
    const changed = folder;
    const name = path.basename(directory);
    try {
      folder.watcher = watch(directory, { persistent: false }, (_event, file) => {
        changed.version += 1;
        // The folder itself went (deleted, renamed, or emptied and made again by a build's clean step): its
        // watch hears nothing more, so the next read of a file there watches the folder anew.
        if (file === name) this.forgetFolder(directory, changed);
      });
    } catch {
      return folder;
    }
    folder.watcher.on("error", () => this.forgetFolder(directory, changed));
    return folder;
  }

  /** A folder whose watch has ended: its files are stale now, and its next file read watches it anew. */
  private forgetFolder(directory: string, folder: WatchedFolder): void {
    folder.watcher?.close();
    folder.watcher = undefined;
    folder.version += 1;
    if (this.folders.get(directory) === folder) this.folders.delete(directory);
  }

  /** The file a request path names, resolved again (realpath, exclusions) and read if it changed. */
  private async lookup(encodedPath: string): Promise<CachedFile | string> {
    const resolved = assetRelativePath(encodedPath, this.exclude, this.pathPrefix);
    if (!resolved.ok) return resolved.reason;
    const file = await this.read(resolved.relativePath, this.files.get(encodedPath));
    if (typeof file === "string") {
      this.cachedBytes -= this.files.get(encodedPath)?.body?.length ?? 0;
      this.files.delete(encodedPath);
      return file;
    }
    // Bounded, in paths and in bytes: a crawler of random paths, or a folder of large files, must not grow it without end.
    const replaced = this.files.get(encodedPath);
    this.cachedBytes -= replaced?.body?.length ?? 0;
    if ((this.files.size >= 10_000 && !replaced) || this.cachedBytes + (file.body?.length ?? 0) > maxCachedBytes) {
      this.files.clear();
      this.cachedBytes = 0;
    }
    this.files.set(encodedPath, file);
    this.cachedBytes += file.body?.length ?? 0;
    return file;
  }

  private async read(relativePath: string, previous: CachedFile | undefined): Promise<CachedFile | string> {
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
    const folder = this.folderOf(path.dirname(real));
    const folderVersion = folder.version;
    const stats = await stat(real).catch(() => undefined);
    if (!stats?.isFile()) return "not a file";
    const resolvedAt = this.now();
    // The bytes kept are still the file's when a stat says so — unless its watched folder reported a change
    // since (an edit that keeps size and mtime, as `cp -p` or `rsync -t` make, fools a stat).
    const folderQuiet = !folder.watcher || (previous?.folder === folder && previous.folderVersion === folderVersion);
    if (previous && previous.real === real && sameVersion(stats, previous) && folderQuiet) return { ...previous, resolvedAt, folder, folderVersion };
    const body = stats.size <= maxCachedBodyBytes ? await readFile(real) : undefined;
    const etag = `"${body ? createHash("md5").update(body).digest("hex") : await md5OfFile(real)}"`;
    const headers = [
      "Content-Type", contentTypeFor(relativePath),
      "Cache-Control", cacheControlFor(relativePath, this.cacheControl),
      "ETag", etag,
      "Last-Modified", new Date(Math.floor(stats.mtimeMs / 1000) * 1000).toUTCString(),
      "Accept-Ranges", "bytes",
    ];
    return { ino: stats.ino, size: body?.length ?? stats.size, real, body, etag, mtimeMs: stats.mtimeMs, headers, resolvedAt, folder, folderVersion };
  }

  private denied(request: AssetRequest, reason: string): AssetResponse {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>${request.ids.apiRequestId}</RequestId></Error>`,
    );
    return { statusCode: 403, headers: ["Content-Type", "application/xml"], body, reason };
  }

  /** S3's answer to a range that starts past the end. */
  private invalidRange(request: AssetRequest, file: CachedFile): AssetResponse {
    const body = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>${escapeXml(request.range ?? "")}</RangeRequested><ActualObjectSize>${file.size}</ActualObjectSize><RequestId>${request.ids.apiRequestId}</RequestId></Error>`,
    );
    return { statusCode: 416, headers: ["Content-Type", "application/xml", "Content-Range", `bytes */${file.size}`], body };
  }
}

/** Whether a stat of the file says it is the version cached (inode, size and mtime: a change of any means it changed). */
function sameVersion(stats: Stats, file: CachedFile): boolean {
  return stats.ino === file.ino && stats.size === file.size && stats.mtimeMs === file.mtimeMs;
}

const emptyBody = Buffer.alloc(0);

/** S3's ETag of a single-part object: the MD5 of its bytes, read as a stream (a large file is not held whole). */
function md5OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("md5");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** Bytes first..last (inclusive) of a file: what a range of a large file needs, and no more. */
async function readRange(file: string, first: number, last: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const body = Buffer.alloc(last - first + 1);
    const { bytesRead } = await handle.read(body, 0, body.length, first);
    return body.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A Range header as S3 reads it: one `bytes=` range (first-last, first-, -suffix), clipped to the
 * object; undefined (the whole object, 200) for anything else, including several ranges, which S3
 * does not serve; "unsatisfiable" when it starts past the end. Pure.
 */
function byteRange(header: string, size: number): [number, number] | "unsatisfiable" | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return size === 0 ? "unsatisfiable" : [Math.max(0, size - suffix), size - 1];
  }
  const first = Number(match[1]);
  const last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== "" && Number(match[2]) < first) return undefined;
  if (first >= size) return "unsatisfiable";
  return [first, last];
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
