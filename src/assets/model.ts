/**
 * The shapes `lamp sync-assets` passes between its parts: the local walk, the remote listing,
 * the pure plan, the manifest, the upload and the report. Types only, importing nothing, so
 * every part can depend on them without depending on one another.
 */

/** What identifies a local file's bytes without reading them: any change to the bytes changes one of these. */
export interface FileStamp {
  size: number;
  /** Nanoseconds, as decimal strings (JSON has no 64-bit integers). */
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** A local file as it should be in the bucket. */
export interface LocalAsset {
  /** Relative to the assets folder, `/` separators. */
  relativePath: string;
  absolutePath: string;
  size: number;
  /** Identifies the content the hash was taken from (see hash-cache.ts); absent in plan tests. */
  stamp?: FileStamp;
  /**
   * SHA-256 of the content, hex. Left undefined for a small file the bucket does not have yet:
   * nothing to compare it with, and the upload hashes the bytes it sends anyway.
   */
  sha256?: string;
  contentType: string;
  cacheControl: string;
}

/** An object under `assets/` as the bucket holds it. Fields lamp could not learn are undefined. */
export interface RemoteObject {
  key: string;
  size: number;
  /** Without quotes. Multipart ETags (`…-3`) are not an MD5 of the content, hence sha256. */
  etag: string;
  sha256?: string;
  contentType?: string;
  cacheControl?: string;
}

export interface PlannedUpload {
  key: string;
  asset: LocalAsset;
  reason: UploadReason;
}

export interface SyncPlan {
  uploads: PlannedUpload[];
  unchanged: { key: string; asset: LocalAsset }[];
  /** Keys under `assets/` with no local file, when deleting is on. */
  deletes: string[];
}

/** Why a file is uploaded. */
export type UploadReason = "new" | "changed" | "metadata" | "forced";

/** One change the sync makes (or would make, in a dry run). */
export type AssetChange =
  | { action: "upload"; key: string; path: string; reason: UploadReason; bytes: number; contentType: string; cacheControl: string }
  | { action: "delete"; key: string };

export interface FailedAsset {
  /** The local path relative to the assets folder (reads, uploads; `\xNN` for bytes that are not UTF-8) or the key (deletes). */
  path: string;
  /** The key the file has, or would have, in the bucket. */
  key: string;
  /** "read": the file or folder could not be read, or its name is not UTF-8; it was skipped. */
  operation: "read" | "upload" | "delete";
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
  /** Reads, uploads and deletes that failed; non-empty means the command exits non-zero. */
  failed: FailedAsset[];
  changes: AssetChange[];
  durationMs: number;
  /** `lamp deploy` and `lamp sync-assets`: the same for the document root's static files, when it has a folder. */
  documentRoot?: SyncAssetsResult;
}
