import type { AssetChange, SyncAssetsResult } from "./model.js";

/** Pure text for what `lamp sync-assets` shows: sizes, plan lines, the progress bar, the summary. */

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** One line per change, as `--dry-run` and `--verbose` print them. */
export function formatChange(change: AssetChange): string {
  if (change.action === "delete") return `delete  ${change.key}`;
  return `upload  ${change.key}  (${change.reason}, ${formatBytes(change.bytes)}, ${change.contentType}, ${change.cacheControl})`;
}

/** `[######------] 12/40 files · 3.1 MB/9.8 MB` */
export function formatProgress(files: number, totalFiles: number, bytes: number, totalBytes: number, width = 20): string {
  const ratio = totalBytes > 0 ? bytes / totalBytes : totalFiles > 0 ? files / totalFiles : 1;
  const filled = Math.max(0, Math.min(width, Math.round(ratio * width)));
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${files}/${totalFiles} files · ${formatBytes(bytes)}/${formatBytes(totalBytes)}`;
}

/** The one-line summary. */
export function formatSummary(result: SyncAssetsResult): string {
  const target = `s3://${result.bucket}/${result.prefix}`;
  const verb = result.dryRun ? "Would sync" : "Synced";
  const parts = [
    `${result.uploaded} ${result.dryRun ? "to upload" : "uploaded"} (${formatBytes(result.bytes)})`,
    `${result.unchanged} unchanged`,
    `${result.deleted} ${result.dryRun ? "to delete" : "deleted"}`,
  ];
  if (result.skipped > 0) parts.push(`${result.skipped} skipped`);
  if (result.failed.length > 0) parts.push(`${result.failed.length} failed`);
  const invalidation = result.invalidation;
  if (invalidation) {
    const count = `${invalidation.paths.length} path${invalidation.paths.length === 1 ? "" : "s"}`;
    const what = invalidation.paths.length === 1 && invalidation.paths[0]!.endsWith("*") ? invalidation.paths[0] : count;
    if (invalidation.status === "planned") parts.push(`would invalidate ${what}`);
    else if (invalidation.status === "failed") parts.push(`invalidation of ${what} failed`);
    else parts.push(`invalidation ${invalidation.id} (${what}${invalidation.status === "completed" ? ", completed" : ""})`);
  }
  return `${verb} ${target}: ${parts.join(", ")}${result.dryRun ? "" : ` in ${formatDuration(result.durationMs)}`}.`;
}
