import path from "node:path";
import type { Context } from "../core/context.js";
import { cachedSha256, hashCacheFileName, parseHashCache, readHashCacheFile, serializeHashCache, writeHashCache, type HashCache, type HashCacheEntry } from "./hash-cache.js";
import type { BucketTree } from "./keys.js";
import { assetsTree } from "./keys.js";
import { sha256OfFile, unreadableReason, walkAssets, type LocalTree, type UnreadablePath } from "./local.js";
import { cacheControlFor, contentTypeFor } from "./media.js";
import type { LocalAsset } from "./model.js";
import { forEachLimit } from "./pool.js";
import { describeError, type SyncSettings } from "./sync-settings.js";

/**
 * The local side of a sync: the folder walked, each file's type and cache policy, and its hash —
 * from the project's hash cache when the file is unchanged, read otherwise, or left for the upload
 * to take when the bucket does not have the file anyway.
 */

/** Local files hashed at once: enough to keep the disk and a core busy. */
const hashConcurrency = 8;

export interface LocalSide {
  walked: LocalTree;
  /** The readable files, with type, cache policy and (when known) hash. */
  local: LocalAsset[];
  /** Found by the walk or by hashing, sorted: reported and skipped, never deleted remotely. */
  unreadable: UnreadablePath[];
  unreadableFiles: Set<string>;
  /** Records the hashes known now (read, cached or taken by an upload) for the next run. */
  saveHashCache(): Promise<void>;
}

/** `needsHash` says whether a file's hash is needed now (asked while the bucket's listing may still be on its way). */
export async function readLocalSide(settings: SyncSettings, tree: BucketTree, ctx: Context, needsHash: (asset: LocalAsset) => boolean): Promise<LocalSide> {
  const hashCacheFile = settings.hashCacheDir ? path.join(settings.hashCacheDir, hashCacheFileName(tree)) : undefined;
  const hashCacheRead = hashCacheFile ? readHashCacheFile(hashCacheFile) : undefined;
  const walked = await walkAssets(
    settings.assetsDir,
    settings.exclude,
    ctx.signal,
    settings.documentRoot ? { staticTypesOnly: true, shadowed: [assetsTree.pathPrefix.slice(1, -1)] } : {},
  );
  const cached = hashCacheRead ? await hashCacheRead : {};
  const hashCache = parseHashCache(cached.text, walked.root, cached.writtenAtNs);
  for (const skipped of walked.skipped) ctx.ui.debug(`skip    ${skipped.relativePath}  (${skipped.reason})`);
  const candidates: LocalAsset[] = walked.files.map((file) => ({
    ...file,
    contentType: contentTypeFor(file.relativePath),
    cacheControl: cacheControlFor(file.relativePath, settings.cacheControl),
  }));
  const hashing = await hashAssets(candidates, hashCache, needsHash, ctx.signal);
  const unreadable = [...walked.unreadable, ...hashing.unreadable];
  const unreadableFiles = new Set(unreadable.map((entry) => entry.relativePath));
  const local = unreadableFiles.size === 0 ? candidates : candidates.filter((asset) => !unreadableFiles.has(asset.relativePath));
  unreadable.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  for (const entry of unreadable) ctx.ui.warn(`Could not read ${entry.relativePath} (${entry.error}); skipped.`);
  const saveHashCache = async (): Promise<void> => {
    if (!hashCacheFile) return;
    // Every file's hash came from the cache, which holds no others: it would be written as it is.
    if (hashing.hashed === 0 && hashing.fromCache === local.length && hashing.fromCache === hashCache.files.size) return;
    const files: [string, HashCacheEntry][] = [];
    for (const asset of local) {
      if (asset.sha256 !== undefined && asset.stamp) files.push([asset.relativePath, { ...asset.stamp, sha256: asset.sha256 }]);
    }
    const text = serializeHashCache(walked.root, files);
    // Rewritten after any hashing even when the text is the same: its new mtime settles entries it could not vouch for.
    if (text === cached.text && hashing.hashed === 0) return;
    try {
      await writeHashCache(hashCacheFile, text);
    } catch (error) {
      ctx.ui.debug(`Could not record the files' hashes in ${hashCacheFile} (${describeError(error)}); the next run hashes them again.`);
    }
  };
  return { walked, local, unreadable, unreadableFiles, saveHashCache };
}

/** Fills in each asset's sha256 where the cache knows it or `needsHash` asks for it; counts both. */
async function hashAssets(
  candidates: LocalAsset[],
  hashCache: HashCache,
  needsHash: (asset: LocalAsset) => boolean,
  signal: AbortSignal,
): Promise<{ hashed: number; fromCache: number; unreadable: UnreadablePath[] }> {
  let hashed = 0;
  let fromCache = 0;
  const unreadable: UnreadablePath[] = [];
  await forEachLimit(
    candidates,
    hashConcurrency,
    async (asset) => {
      // Unchanged since it was last hashed: its content is not read again.
      asset.sha256 = asset.stamp && cachedSha256(hashCache, asset.relativePath, asset.stamp);
      if (asset.sha256 !== undefined) fromCache += 1;
      if (asset.sha256 !== undefined || !needsHash(asset)) return;
      try {
        asset.sha256 = await sha256OfFile(asset.absolutePath, asset.size, signal);
        hashed += 1;
      } catch (error) {
        const reason = signal.aborted ? undefined : unreadableReason(error);
        if (!reason) throw error;
        unreadable.push({ relativePath: asset.relativePath, error: reason });
      }
    },
    signal,
  );
  return { hashed, fromCache, unreadable };
}
