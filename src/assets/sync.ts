import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";

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
}

export const syncDefaults = {
  delete: true,
  dryRun: false,
  force: false,
  concurrency: 16,
  invalidate: true,
  wait: false,
  invalidationThreshold: 50,
} as const;

/** Why a file is uploaded. */
export type UploadReason = "new" | "changed" | "metadata" | "forced";

/** One change the sync makes (or would make, in a dry run). */
export type AssetChange =
  | { action: "upload"; key: string; path: string; reason: UploadReason; bytes: number; contentType: string; cacheControl: string }
  | { action: "delete"; key: string };

export interface FailedAsset {
  /** The local path relative to the assets folder (uploads) or the key (deletes). */
  path: string;
  key: string;
  operation: "upload" | "delete";
  error: string;
}

export interface InvalidationSummary {
  /** The CloudFront invalidation id; absent in a dry run or when creating it failed. */
  id?: string;
  /** The paths sent (percent-encoded), or `/assets/*` above the threshold. */
  paths: string[];
  /** How many changed/deleted objects those paths cover. */
  objects: number;
  status: "planned" | "created" | "completed" | "failed";
  error?: string;
}

/** The `--json` summary of a sync. */
export interface SyncAssetsResult {
  bucket: string;
  /** Always `assets/`: the key prefix must equal the CloudFront path pattern `/assets/*`. */
  prefix: string;
  dryRun: boolean;
  /** Files uploaded (or to upload, in a dry run). */
  uploaded: number;
  /** Files whose content, type and cache policy already match the bucket. */
  unchanged: number;
  /** Keys deleted (or to delete). */
  deleted: number;
  /** Bytes uploaded (or to upload). */
  bytes: number;
  /** Local files never uploaded: dotfiles, lamp.json excludes, symlinks out of the folder. */
  skipped: number;
  /** The invalidation sent, or null when none was needed or possible. */
  invalidation: InvalidationSummary | null;
  /** Uploads and deletes that failed; non-empty means the command exits non-zero. */
  failed: FailedAsset[];
  changes: AssetChange[];
  durationMs: number;
}

export async function syncAssets(options: SyncAssetsOptions, ctx: Context): Promise<SyncAssetsResult> {
  void options;
  void ctx;
  throw new LampError("failed", "lamp sync-assets is not implemented yet.");
}
