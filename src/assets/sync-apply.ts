import type { S3Client } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import type { BucketTree } from "./keys.js";
import { unreadableReason } from "./local.js";
import { describesListing, manifestFrom, serializeManifest } from "./manifest.js";
import type { InvalidationSummary, RemoteObject, SyncAssetsResult, SyncPlan } from "./model.js";
import { planInvalidation } from "./plan.js";
import { forEachLimit } from "./pool.js";
import { deleteObjects, uploadAsset, writeText } from "./remote.js";
import { formatBytes, formatProgress } from "./report.js";
import type { RemoteSide } from "./sync-remote.js";
import { describeError, type SyncSettings } from "./sync-settings.js";

/**
 * Applying a sync's plan to the bucket: uploads, then deletes, then lamp's manifest of what the
 * bucket now holds (also when the run is interrupted), then the CloudFront invalidation.
 */

/** How often the progress bar redraws. */
const progressIntervalMs = 100;

/** What applying the plan changed, as the manifest and the invalidation need it. */
export interface Applied {
  /** Objects as they stand after this run, for the manifest; failures drop out (HEAD next time). */
  after: Map<string, RemoteObject>;
  /** The part of the plan that succeeded. */
  done: SyncPlan;
}

/**
 * lamp's record of the bucket's objects (`.lamp/*-manifest.json` in the bucket), rewritten only when
 * it would say something new; `etag` and `text` are what the bucket holds after the last write.
 */
export class ManifestWriter {
  text: string | undefined;
  etag: string | undefined;
  private readonly current: boolean;

  constructor(
    private readonly s3: S3Client,
    private readonly settings: SyncSettings,
    private readonly tree: BucketTree,
    private readonly ctx: Context,
    private readonly remote: RemoteSide,
    private readonly result: SyncAssetsResult,
    private readonly applied: Applied,
  ) {
    this.text = remote.manifestText;
    this.etag = remote.manifestEtag;
    // Nothing learnt (no HEAD) and the listing is what the manifest says: a run that changes nothing
    // would write back the manifest it read, so it is not even rebuilt.
    this.current = remote.inspected.length === 0 && describesListing(remote.manifest, remote.listing);
  }

  async save(pending: readonly string[], abortSignal?: AbortSignal): Promise<void> {
    const { done, after } = this.applied;
    const unchanged =
      this.current && this.text === this.remote.manifestText && done.uploads.length === 0 && done.deletes.length === 0 &&
      this.result.failed.every((failure) => failure.operation === "read") && pending.join("\n") === this.remote.manifest.pendingInvalidation.join("\n");
    if (unchanged) return;
    const text = serializeManifest(manifestFrom(after.values(), pending));
    if (text === this.text) return;
    const { bucket } = this.settings;
    try {
      this.etag = undefined;
      this.etag = await writeText(this.s3, bucket, this.tree.manifestKey, text, "application/json; charset=utf-8", abortSignal);
      this.text = text;
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      this.ctx.ui.warn(`Could not record the sync in s3://${bucket}/${this.tree.manifestKey} (${describeError(error)}); the next run reads each object's metadata instead.`);
    }
  }

  /** The paths still to invalidate: what this run changed, and what an earlier run left pending. */
  pendingPaths(invalidating: boolean): string[] {
    return invalidating ? (planInvalidation(this.applied.done, 3000, this.remote.manifest.pendingInvalidation, this.tree)?.paths ?? []) : [];
  }
}

/** Uploads, then deletes (only when every upload succeeded, so a page being served keeps its files). */
export async function applyPlan(plan: SyncPlan, settings: SyncSettings, ctx: Context, s3: S3Client, result: SyncAssetsResult, applied: Applied): Promise<void> {
  await upload(plan, settings, ctx, s3, result, applied.after, applied.done);
  if (plan.deletes.length === 0) return;
  if (result.failed.length > 0) {
    ctx.ui.warn(`Not deleting ${plan.deletes.length} old object(s) because some files failed; the next run will.`);
    return;
  }
  const failures = await deleteObjects(s3, settings.bucket, plan.deletes, ctx.signal);
  const failedKeys = new Set(failures.map((failure) => failure.key));
  for (const failure of failures) {
    result.failed.push({ path: failure.key, key: failure.key, operation: "delete", error: failure.error });
    ctx.ui.warn(`Could not delete ${failure.key}: ${failure.error}`);
  }
  for (const key of plan.deletes) {
    if (failedKeys.has(key)) continue;
    applied.after.delete(key);
    applied.done.deletes.push(key);
    ctx.ui.debug(`delete  ${key}`);
  }
  result.deleted = applied.done.deletes.length;
}

/** Invalidates in CloudFront what visitors may have cached of the changed and deleted files. */
export async function invalidateChanges(settings: SyncSettings, ctx: Context, tree: BucketTree, remote: RemoteSide, applied: Applied, manifest: ManifestWriter, result: SyncAssetsResult): Promise<void> {
  const { ui, signal } = ctx;
  const invalidating = settings.invalidate && Boolean(settings.distributionId);
  const invalidation = invalidating ? planInvalidation(applied.done, settings.invalidationThreshold, remote.manifest.pendingInvalidation, tree) : undefined;
  if (!invalidation || !settings.distributionId) {
    if (settings.invalidate && !settings.distributionId && (applied.done.deletes.length > 0 || applied.done.uploads.some((u) => u.reason !== "new"))) {
      ui.warn("No CloudFront distribution given: visitors may see cached copies of changed files until they expire.");
    }
    return;
  }
  const summary: InvalidationSummary = { paths: invalidation.paths, objects: invalidation.objects, status: "created" };
  result.invalidation = summary;
  try {
    const { createInvalidation, waitForInvalidation } = await import("./invalidate.js");
    summary.id = await createInvalidation(ctx, settings.distributionId, invalidation.paths);
    await manifest.save([], signal);
    if (settings.wait) {
      const waiting = ui.interactive ? ui.progress(`Waiting for invalidation ${summary.id} to complete…`) : undefined;
      try {
        await waitForInvalidation(ctx, settings.distributionId, summary.id);
      } catch (error) {
        waiting?.fail();
        throw error;
      }
      waiting?.done(`Invalidation ${summary.id} completed.`);
      summary.status = "completed";
    }
  } catch (error) {
    if (signal.aborted) throw error;
    summary.status = summary.id ? "created" : "failed";
    summary.error = describeError(error);
    ui.warn(`CloudFront invalidation ${summary.id ? `${summary.id} did not complete` : "failed"}: ${summary.error}`);
    if (!summary.id) ui.info("  The paths are recorded in the bucket; the next `lamp sync-assets` sends them again.");
    else throw error;
  }
}

async function upload(
  plan: SyncPlan,
  settings: SyncSettings,
  ctx: Context,
  s3: S3Client,
  result: SyncAssetsResult,
  after: Map<string, RemoteObject>,
  done: SyncPlan,
): Promise<void> {
  const { ui, signal } = ctx;
  if (plan.uploads.length === 0) return;
  const totalBytes = plan.uploads.reduce((sum, item) => sum + item.asset.size, 0);
  let files = 0;
  let bytes = 0;
  let lastDraw = 0;
  const bar = ui.interactive ? ui.progress(formatProgress(0, plan.uploads.length, 0, totalBytes)) : undefined;
  const draw = (force = false) => {
    const now = ctx.clock.now();
    if (!bar || (!force && now - lastDraw < progressIntervalMs)) return;
    lastDraw = now;
    bar.update(formatProgress(files, plan.uploads.length, bytes, totalBytes));
  };
  // Largest first: a big file started last would leave the other connections idle at the end.
  const queue = [...plan.uploads].sort((a, b) => b.asset.size - a.asset.size || (a.key < b.key ? -1 : 1));
  try {
    await forEachLimit(
      queue,
      settings.concurrency,
      async (item) => {
        try {
          const sent = await uploadAsset(s3, settings.bucket, item.key, item.asset, (count) => {
            bytes += count;
            draw();
          }, signal);
          after.set(item.key, {
            key: item.key,
            size: sent.size,
            etag: sent.etag,
            sha256: sent.sha256,
            contentType: item.asset.contentType,
            cacheControl: item.asset.cacheControl,
          });
          // A small new file is hashed by its upload: keep that for the next run.
          item.asset.sha256 ??= sent.sha256;
          done.uploads.push(item);
          result.uploaded += 1;
          result.bytes += sent.size;
          ui.debug(`upload  ${item.key}  (${item.reason}, ${formatBytes(sent.size)})`);
        } catch (error) {
          if (signal.aborted) throw error;
          // The object in the bucket is left as it was; only lamp's record of it is dropped.
          after.delete(item.key);
          const unreadable = unreadableReason(error);
          const message = unreadable ?? describeError(error);
          result.failed.push({ path: item.asset.relativePath, key: item.key, operation: unreadable ? "read" : "upload", error: message });
          if (bar) bar.update(formatProgress(files, plan.uploads.length, bytes, totalBytes));
          ui.warn(unreadable ? `Could not read ${item.asset.relativePath} (${message}); skipped.` : `Could not upload ${item.asset.relativePath}: ${message}`);
        } finally {
          files += 1;
          draw(files === plan.uploads.length);
        }
      },
      signal,
    );
  } catch (error) {
    bar?.fail(`Upload interrupted after ${files} of ${plan.uploads.length} files.`);
    throw error;
  }
  bar?.done(`Uploaded ${result.uploaded} of ${plan.uploads.length} files (${formatBytes(result.bytes)}).`);
}
