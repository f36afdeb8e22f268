import { LampError } from "../core/errors.js";

/**
 * The options of one sync and their defaults, resolved and checked once; every phase of the sync
 * (sync-local, sync-remote, sync-apply) reads the same resolved settings.
 */

/** What `syncAssets` needs. Only the first three are required; the rest have the CLI's defaults. */
export interface SyncAssetsOptions {
  /** Absolute path of the local assets folder (lamp.json `assets.dir` resolved against the project root). */
  assetsDir: string;
  /** The private assets bucket (stack output AssetsBucketName). */
  bucket: string;
  /** The bucket's region (lamp.json `region`; --region / AWS_REGION win inside ctx.aws). */
  region: string;
  /** The CloudFront distribution to invalidate (stack output DistributionId); none: no invalidation. */
  distributionId?: string;
  /** Remove keys under `assets/` that no longer exist locally, after the uploads. Default true. */
  delete?: boolean;
  /** Print the plan, change nothing. Default false. */
  dryRun?: boolean;
  /** Upload every file, even unchanged ones. Default false. */
  force?: boolean;
  /**
   * List the bucket and compare every object even when lamp's last sync left it as it is (see
   * last-sync.ts): finds objects changed or deleted by other tools. Default false.
   */
  full?: boolean;
  /** Files uploaded at once. Default 16. */
  concurrency?: number;
  /** Invalidate changed and deleted paths in CloudFront. Default true. */
  invalidate?: boolean;
  /** Wait until the invalidation has completed. Default false. */
  wait?: boolean;
  /** lamp.json `assets.exclude`: globs relative to the assets folder, never uploaded. */
  exclude?: string[];
  /** lamp.json `assets.cacheControl`: Cache-Control per glob, first match wins. */
  cacheControl?: Record<string, string>;
  /** lamp.json `assets.invalidationThreshold`: above this many paths, one `/assets/*` instead. Default 50. */
  invalidationThreshold?: number;
  /**
   * `assetsDir` is the document root (lamp.json `documentRoot`): only its allow-listed static types
   * are uploaded, under `document-root/`, served at their own paths; its `assets/` folder is left
   * out (/assets/* is the assets folder's).
   */
  documentRoot?: boolean;
    /**
   * Where to keep the local files' hashes between runs (the project's `.lamp/`), so an unchanged
   * file is not read again. None: every file the bucket has is hashed each run.
   */
  hashCacheDir?: string;
}

export const syncDefaults = {
  delete: true,
  dryRun: false,
  force: false,
  full: false,
  concurrency: 16,
  invalidate: true,
  wait: false,
  invalidationThreshold: 50,
} as const;

export function resolveSyncSettings(options: SyncAssetsOptions) {
  const resolved = {
    documentRoot: false,
    ...syncDefaults,
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    exclude: options.exclude ?? [],
    cacheControl: options.cacheControl ?? {},
  } as Required<Omit<SyncAssetsOptions, "distributionId" | "hashCacheDir">> & { distributionId?: string; hashCacheDir?: string };
  if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1 || resolved.concurrency > 256) {
    throw new LampError("usage", `--concurrency must be a whole number from 1 to 256, not ${String(options.concurrency)}.`, "Try --concurrency 16.");
  }
  if (!Number.isInteger(resolved.invalidationThreshold) || resolved.invalidationThreshold < 1 || resolved.invalidationThreshold > 3000) {
    throw new LampError("usage", `The invalidation threshold must be a whole number from 1 to 3000, not ${String(options.invalidationThreshold)}.`, 'Fix "assets.invalidationThreshold" in lamp.json.');
  }
  if (!resolved.bucket) throw new LampError("usage", "No assets bucket given.", "Pass --bucket, or deploy the stack first (`lamp deploy`).");
  return resolved;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}


export type SyncSettings = ReturnType<typeof resolveSyncSettings>;
