import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import type { BucketTree } from "./keys.js";
import type { ManifestEntry } from "./manifest.js";

/**
 * What this project's last complete sync left in the bucket, kept beside the hash cache in the
 * project's `.lamp/`: the bucket, the ETag of the manifest that sync wrote (or found current),
 * and a digest of the objects that manifest records. When no local file changed (their digest is
 * the same) and the bucket's manifest still has that ETag (a conditional GET answers 304), the
 * bucket is as lamp left it and the no-op needs no listing.
 *
 * Only lamp's own writes change the manifest: an object changed or deleted in the bucket by
 * another tool is not seen this way. `--full` (and `--force`) always list and compare.
 */
export interface LastSync {
  bucket: string;
  manifestEtag: string;
  /** sha256 over the recorded objects (key, size, hash, type, cache policy), see `objectsDigest`. */
  objects: string;
}

/** The record of one part of the bucket (`assets-last-sync.json`, `document-root-last-sync.json`). */
export function lastSyncFileName(tree: BucketTree): string {
  return `${tree.keyPrefix.replace(/\/$/, "")}-last-sync.json`;
}

/** What identifies a set of objects' content and metadata, whatever their ETags. */
export function objectsDigest(objects: Iterable<[string, Omit<ManifestEntry, "etag">]>): string {
  const hash = createHash("sha256");
  const sorted = [...objects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, entry] of sorted) {
    hash.update(JSON.stringify([key, entry.size, entry.sha256, entry.contentType, entry.cacheControl]));
    hash.update("\n");
  }
  return hash.digest("hex");
}

/** The record for `bucket`, or undefined when there is none, it is unreadable, or it is another bucket's. */
export async function readLastSync(file: string, bucket: string): Promise<LastSync | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8")) as Partial<LastSync> & { version?: unknown };
    if (data.version !== 1 || data.bucket !== bucket) return undefined;
    if (typeof data.manifestEtag !== "string" || !data.manifestEtag || typeof data.objects !== "string" || !/^[0-9a-f]{64}$/.test(data.objects)) return undefined;
    return { bucket, manifestEtag: data.manifestEtag, objects: data.objects };
  } catch {
    return undefined;
  }
}

export function serializeLastSync(record: LastSync): string {
  return `${JSON.stringify({ version: 1, bucket: record.bucket, manifestEtag: record.manifestEtag, objects: record.objects })}\n`;
}

/** Removes the record: done before a run changes the bucket, so an interrupted run cannot leave one that lies. */
export async function forgetLastSync(file: string): Promise<void> {
  await rm(file, { force: true });
}
