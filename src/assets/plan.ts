import { assetsTree, invalidationPathFor, keyFor, type BucketTree } from "./keys.js";
import type { LocalAsset, RemoteObject, SyncPlan, UploadReason } from "./model.js";

/**
 * The pure core of `lamp sync-assets`: local files and remote objects in, a plan out.
 * Upload, delete and invalidation are effects that execute a plan elsewhere.
 */


export interface PlanOptions {
  force: boolean;
  delete: boolean;
  /** Which part of the bucket: the assets folder's (default) or the document root's. */
  tree?: BucketTree;
  /**
   * Relative paths that exist locally but could not be read (a folder ends with `/`): their
   * objects are never deleted — an unreadable file is not a deleted one.
   */
  unreadable?: readonly string[];
}

export function planSync(local: readonly LocalAsset[], remote: ReadonlyMap<string, RemoteObject>, options: PlanOptions): SyncPlan {
  const plan: SyncPlan = { uploads: [], unchanged: [], deletes: [] };
  const tree = options.tree ?? assetsTree;
  const localKeys = new Set<string>();
  for (const asset of [...local].sort((a, b) => compare(a.relativePath, b.relativePath))) {
    const key = keyFor(asset.relativePath, tree);
    localKeys.add(key);
    const reason = uploadReason(asset, remote.get(key), options.force);
    if (reason) plan.uploads.push({ key, asset, reason });
    else plan.unchanged.push({ key, asset });
  }
  if (options.delete) {
    const kept = (options.unreadable ?? []).map((relativePath) => keyFor(relativePath, tree));
    const isKept = (key: string) => kept.some((keep) => key === keep || (keep.endsWith("/") && key.startsWith(keep)));
    plan.deletes = [...remote.keys()].filter((key) => key.startsWith(tree.keyPrefix) && !localKeys.has(key) && !isKept(key)).sort(compare);
  }
  return plan;
}

/** Why `asset` must be uploaded over `object`, or undefined when the bucket already has it right. */
function uploadReason(asset: LocalAsset, object: RemoteObject | undefined, force: boolean): UploadReason | undefined {
  if (!object) return "new";
  if (force) return "forced";
  // An object lamp did not upload carries no hash: its content is unknown, so it is replaced.
  if (object.sha256 === undefined || object.sha256 !== asset.sha256 || object.size !== asset.size) return "changed";
  if (object.contentType !== asset.contentType || object.cacheControl !== asset.cacheControl) return "metadata";
  return undefined;
}

/**
 * Keys whose remote state the listing and manifest could not tell: those objects need a HEAD
 * to read lamp's hash from their metadata before planning. Only keys with a local file
 * matter (a key without one is deleted whatever it holds), and not when forcing.
 */
export function keysToInspect(local: readonly LocalAsset[], remote: ReadonlyMap<string, RemoteObject>, force: boolean, tree: BucketTree = assetsTree): string[] {
  if (force) return [];
  return local
    .map((asset) => keyFor(asset.relativePath, tree))
    .filter((key) => {
      const object = remote.get(key);
      return object !== undefined && object.sha256 === undefined;
    });
}

export interface InvalidationPlan {
  paths: string[];
  /** How many objects those paths stand for. */
  objects: number;
}

/**
 * What CloudFront must forget: objects that existed before and now differ or are gone.
 * New keys need nothing (no edge has cached them). Above `threshold` paths, one wildcard
 * instead: it counts as a single path for billing and the 3,000-paths-in-progress limit.
 */
export function planInvalidation(
  plan: Pick<SyncPlan, "uploads" | "deletes">,
  threshold: number,
  extraPaths: readonly string[] = [],
  tree: BucketTree = assetsTree,
): InvalidationPlan | undefined {
  const keys = [...plan.uploads.filter((upload) => upload.reason !== "new").map((upload) => upload.key), ...plan.deletes];
  const paths = [...new Set([...keys.map((key) => invalidationPathFor(key, tree)), ...extraPaths])].sort(compare);
  if (paths.length === 0) return undefined;
  if (paths.length > threshold || paths.includes(tree.wildcardPath)) return { paths: [tree.wildcardPath], objects: paths.length };
  return { paths, objects: paths.length };
}

/** Code-unit order: the same on every machine, whatever the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
