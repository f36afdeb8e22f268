import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BucketTree } from "./keys.js";
import type { FileStamp } from "./model.js";

/**
 * lamp's record of the local files it has hashed, so a sync with nothing changed reads no file
 * content: per file, what identified its bytes when they were hashed (size, mtime and ctime in
 * nanoseconds, inode) and the SHA-256. A file is hashed again as soon as any of those differs.
 *
 * Kept on the developer's machine, in the project's `.lamp/` (git-ignored, never deployed): the
 * stamps mean nothing on another machine, and the bucket's manifest stays about the bucket.
 *
 * Like Git's index, an entry is trusted only if its file had not been touched when the cache was
 * written (mtime and ctime older than the cache file's own mtime): a file rewritten within the
 * file system's timestamp granularity of its hashing would otherwise keep its old stamp.
 */

/** The cache file of one part of the bucket (`assets-hashes.json`, `document-root-hashes.json`). */
export function hashCacheFileName(tree: BucketTree): string {
  return `${tree.keyPrefix.replace(/\/$/, "")}-hashes.json`;
}

/** Where a project keeps them: its `.lamp/` folder, beside lamp dev's local state. */
export function projectHashCacheDir(projectRoot: string): string {
  return path.join(projectRoot, ".lamp");
}

export interface HashCacheEntry extends FileStamp {
  sha256: string;
}

export interface HashCache {
  /** The real path of the assets folder the entries are relative to. */
  folder: string;
  files: Map<string, HashCacheEntry>;
  /** The cache file's mtime (ns): entries touched at or after it are not trusted. */
  writtenAtNs?: bigint;
}

function emptyHashCache(folder: string): HashCache {
  return { folder, files: new Map() };
}

/** Parses a stored cache for `folder`; anything unreadable, or for another folder, counts as empty. */
export function parseHashCache(text: string | undefined, folder: string, writtenAtNs?: bigint): HashCache {
  const cache: HashCache = { folder, files: new Map(), writtenAtNs };
  if (!text) return cache;
  try {
    const data = JSON.parse(text) as { version?: unknown; folder?: unknown; files?: unknown };
    if (data.version !== 1 || data.folder !== folder || typeof data.files !== "object" || data.files === null) return emptyHashCache(folder);
    for (const [relativePath, entry] of Object.entries(data.files as Record<string, unknown>)) {
      if (isEntry(entry)) cache.files.set(relativePath, entry);
    }
    return cache;
  } catch {
    return emptyHashCache(folder);
  }
}

function isEntry(value: unknown): value is HashCacheEntry {
  const entry = value as Partial<HashCacheEntry> | null;
  return (
    typeof entry === "object" && entry !== null &&
    typeof entry.size === "number" && typeof entry.sha256 === "string" && /^[0-9a-f]{64}$/.test(entry.sha256) &&
    isDecimal(entry.mtimeNs) && isDecimal(entry.ctimeNs) && isDecimal(entry.ino)
  );
}

const isDecimal = (value: unknown): value is string => typeof value === "string" && /^\d{1,30}$/.test(value);

/** The hash recorded for the file at `relativePath` if its stamp is unchanged and was settled when recorded. */
export function cachedSha256(cache: HashCache, relativePath: string, stamp: FileStamp): string | undefined {
  const entry = cache.files.get(relativePath);
  if (!entry || cache.writtenAtNs === undefined) return undefined;
  if (entry.size !== stamp.size || entry.mtimeNs !== stamp.mtimeNs || entry.ctimeNs !== stamp.ctimeNs || entry.ino !== stamp.ino) return undefined;
  if (BigInt(entry.mtimeNs) >= cache.writtenAtNs || BigInt(entry.ctimeNs) >= cache.writtenAtNs) return undefined;
  return entry.sha256;
}

/** The cache file's text for these files, sorted (the same files give the same bytes). */
export function serializeHashCache(folder: string, files: Iterable<[string, HashCacheEntry]>): string {
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const entries = Object.fromEntries(
    sorted.map(([relativePath, entry]) => [relativePath, { size: entry.size, mtimeNs: entry.mtimeNs, ctimeNs: entry.ctimeNs, ino: entry.ino, sha256: entry.sha256 }]),
  );
  return `${JSON.stringify({ version: 1, folder, files: entries })}\n`;
}

/** The cache file's text and mtime; a missing or unreadable file gives neither (everything is hashed). */
export async function readHashCacheFile(file: string): Promise<{ text?: string; writtenAtNs?: bigint }> {
  try {
    const [text, info] = await Promise.all([readFile(file, "utf8"), stat(file, { bigint: true })]);
    return { text, writtenAtNs: info.mtimeNs };
  } catch {
    return {};
  }
}

/** Replaces the cache file whole (written beside it, then renamed), creating its folder. */
export async function writeHashCache(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}
