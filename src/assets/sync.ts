import { setMaxListeners } from "node:events";
import path from "node:path";
import type { Context } from "../core/context.js";
import { LampError, reportingCancellation } from "../core/errors.js";
import { assetsTree, documentRootTree, keyFor, type BucketTree } from "./keys.js";
import { forgetLastSync, lastSyncFileName, objectsDigest, readLastSync, serializeLastSync, type LastSync } from "./last-sync.js";
import { writeHashCache } from "./hash-cache.js";
import { parseManifest } from "./manifest.js";
import type { AssetChange, FailedAsset, LocalAsset, SyncAssetsResult, SyncPlan } from "./model.js";
import { planInvalidation, planSync } from "./plan.js";
import { formatChange, formatSummary } from "./report.js";
import { s3Sdk } from "./s3-sdk.js";
import { applyPlan, invalidateChanges, ManifestWriter, type Applied } from "./sync-apply.js";
import { readLocalSide, type LocalSide } from "./sync-local.js";
import { RemoteReader, type RemoteSide } from "./sync-remote.js";
import { describeError, resolveSyncSettings, type SyncSettings } from "./sync-settings.js";

export { syncDefaults, type SyncAssetsOptions } from "./sync-settings.js";
export type { AssetChange, FailedAsset, InvalidationSummary, SyncAssetsResult, UploadReason } from "./model.js";

/**
 * Makes `assets/` in the bucket match the local assets folder: uploads new and changed files
 * (by content hash, type and cache policy), then deletes keys without a local file, then
 * invalidates in CloudFront what visitors may have cached. Per-file failures are collected in
 * `result.failed` rather than thrown; the caller decides the exit code (the command exits 1).
 */
export async function syncAssets(options: import("./sync-settings.js").SyncAssetsOptions, ctx: Context): Promise<SyncAssetsResult> {
  return reportingCancellation(ctx.signal, () => runSync(resolveSyncSettings(options), ctx));
}

/** Where the project keeps this tree's records between runs (none outside a project). */
interface LocalRecords {
  lastSyncFile?: string;
  lastSync?: LastSync;
}

/** read local ‖ read remote → (bucket as lamp left it? done) → plan → apply → invalidate → record. */
async function runSync(settings: SyncSettings, ctx: Context): Promise<SyncAssetsResult> {
  const started = ctx.clock.now();
  const s3 = ctx.aws.client(s3Sdk.S3Client, { region: settings.region });
  const tree = settings.documentRoot ? documentRootTree : assetsTree;
  // Every request in flight listens to the signal; more than Node's default of 10 is expected.
  setMaxListeners(Math.max(64, settings.concurrency * 4), ctx.signal);
  const records = await readRecords(settings, tree);

  // The remote side runs while the folder is walked and hashed.
  const reader = new RemoteReader(s3, settings, tree, ctx);
  reader.start(records.lastSync);
  const localSide = await readLocalSide(settings, tree, ctx, (asset) => reader.needsHash(asset));
  if (records.lastSync && (await bucketAsLeft(reader, localSide, records.lastSync, tree))) {
    ctx.ui.debug(`s3://${settings.bucket}/${tree.manifestKey} is the one lamp's last sync left and no local file changed: the bucket is not listed (--full compares every object).`);
    return finish(ctx, started, settings, localSide, noChangeResult(settings, tree, localSide));
  }
  const remote = await reader.read(localSide.local);

  const plan = planSync(localSide.local, remote.remote, { force: settings.force, delete: settings.delete, tree, unreadable: [...localSide.unreadableFiles] });
  refuseEmptyingBucket(settings, tree, localSide, plan);
  const result = planResult(settings, tree, localSide, plan);
  if (settings.dryRun) return reportDryRun(ctx, started, settings, tree, localSide, remote, plan, result);

  const applied: Applied = { after: new Map(remote.remote), done: { uploads: [], unchanged: plan.unchanged, deletes: [] } };
  const manifest = new ManifestWriter(s3, settings, tree, ctx, remote, result, applied);
  await applyRecorded(settings, ctx, records, plan, s3, result, applied, manifest);
  await invalidateChanges(settings, ctx, tree, remote, applied, manifest, result);
  await localSide.saveHashCache();
  await recordCompleteSync(ctx, settings, records, localSide, manifest, result, tree);
  return finish(ctx, started, settings, localSide, result, true);
}

async function readRecords(settings: SyncSettings, tree: BucketTree): Promise<LocalRecords> {
  const lastSyncFile = settings.hashCacheDir ? path.join(settings.hashCacheDir, lastSyncFileName(tree)) : undefined;
  const lastSync = lastSyncFile && !settings.force && !settings.full ? await readLastSync(lastSyncFile, settings.bucket) : undefined;
  return { lastSyncFile, lastSync };
}

/** What lamp's last complete sync recorded of the objects, for these local files; undefined if any hash is unknown. */
function recordedObjects(assets: readonly LocalAsset[], tree: BucketTree): string | undefined {
  return assets.every((asset) => asset.sha256 !== undefined)
    ? objectsDigest(assets.map((asset) => [keyFor(asset.relativePath, tree), { size: asset.size, sha256: asset.sha256!, contentType: asset.contentType, cacheControl: asset.cacheControl }]))
    : undefined;
}

/** The bucket's manifest is the one lamp's last complete sync left, and no local file changed since. */
async function bucketAsLeft(reader: RemoteReader, localSide: LocalSide, lastSync: LastSync, tree: BucketTree): Promise<boolean> {
  return (await reader.manifestUnchanged()) && localSide.unreadable.length === 0 && recordedObjects(localSide.local, tree) === lastSync.objects;
}

function emptyResult(settings: SyncSettings, tree: BucketTree, localSide: LocalSide): SyncAssetsResult {
  return {
    bucket: settings.bucket,
    prefix: tree.keyPrefix,
    dryRun: settings.dryRun,
    uploaded: 0,
    unchanged: 0,
    deleted: 0,
    bytes: 0,
    skipped: localSide.walked.skipped.length,
    invalidation: null,
    failed: [],
    changes: [],
    durationMs: 0,
  };
}

function noChangeResult(settings: SyncSettings, tree: BucketTree, localSide: LocalSide): SyncAssetsResult {
  return { ...emptyResult(settings, tree, localSide), unchanged: localSide.local.length };
}

function planResult(settings: SyncSettings, tree: BucketTree, localSide: LocalSide, plan: SyncPlan): SyncAssetsResult {
  return {
    ...emptyResult(settings, tree, localSide),
    unchanged: plan.unchanged.length,
    failed: localSide.unreadable.map((entry) => ({ path: entry.relativePath, key: keyFor(entry.relativePath, tree), operation: "read", error: entry.error })),
    changes: changesOf(plan),
  };
}

/**
 * An empty folder is far more often a wrong --dir or a build that did not run than a wish to take
 * every asset offline: deleting them all needs saying so. A document root with PHP but no static
 * file left is not that: its last static file went.
 */
function refuseEmptyingBucket(settings: SyncSettings, tree: BucketTree, localSide: LocalSide, plan: SyncPlan): void {
  const emptyFolder = localSide.local.length === 0 && (!settings.documentRoot || localSide.walked.skipped.length === 0);
  if (!emptyFolder || plan.deletes.length === 0 || settings.force) return;
  throw new LampError(
    "usage",
    `${settings.assetsDir} has no files to upload; syncing it would delete all ${plan.deletes.length} objects under s3://${settings.bucket}/${tree.keyPrefix}.`,
    "Check --dir (or \"assets.dir\" in lamp.json); pass --force to delete them all anyway, or --no-delete.",
  );
}

async function reportDryRun(ctx: Context, started: number, settings: SyncSettings, tree: BucketTree, localSide: LocalSide, remote: RemoteSide, plan: SyncPlan, result: SyncAssetsResult): Promise<SyncAssetsResult> {
  // The plan is the command's output; with --json stdout is kept for the JSON result (which lists the changes).
  const print = ctx.ui.json ? (line: string) => ctx.ui.info(line) : (line: string) => ctx.ui.out(line);
  for (const change of result.changes) print(formatChange(change));
  result.uploaded = plan.uploads.length;
  result.bytes = plan.uploads.reduce((sum, upload) => sum + upload.asset.size, 0);
  result.deleted = plan.deletes.length;
  const invalidating = settings.invalidate && Boolean(settings.distributionId);
  const invalidation = invalidating ? planInvalidation(plan, settings.invalidationThreshold, remote.manifest.pendingInvalidation, tree) : undefined;
  if (invalidation) {
    for (const path of invalidation.paths) print(`invalidate  ${path}`);
    result.invalidation = { paths: invalidation.paths, objects: invalidation.objects, status: "planned" };
  }
  return finish(ctx, started, settings, localSide, result);
}

/** Applies the plan with lamp's records kept true whatever stops the run. */
async function applyRecorded(settings: SyncSettings, ctx: Context, records: LocalRecords, plan: SyncPlan, s3: Parameters<typeof applyPlan>[3], result: SyncAssetsResult, applied: Applied, manifest: ManifestWriter): Promise<void> {
  const invalidating = settings.invalidate && Boolean(settings.distributionId);
  // The record of the last sync must never outlive a change to the bucket, whatever stops this run.
  if (records.lastSyncFile && (plan.uploads.length > 0 || plan.deletes.length > 0)) {
    try {
      await forgetLastSync(records.lastSyncFile);
    } catch (error) {
      throw new LampError("io", `Cannot remove ${records.lastSyncFile}: ${describeError(error)}.`, "Make the project's .lamp/ folder writable, or delete that file, then run again.");
    }
  }
  try {
    await applyPlan(plan, settings, ctx, s3, result, applied);
  } catch (error) {
    // Interrupted or a hard failure: still record what did change, so a re-run invalidates
    // what was already replaced instead of finding it "unchanged" and leaving stale caches.
    // Ctrl-C has already aborted the run's signal: give this one write its own short deadline.
    await manifest.save(manifest.pendingPaths(invalidating), AbortSignal.timeout(5_000)).catch(() => {});
    throw error;
  }
  await manifest.save(manifest.pendingPaths(invalidating), ctx.signal);
}

/** A complete sync (the bucket's manifest records exactly the local files, nothing pending) lets the next no-op skip the listing. */
async function recordCompleteSync(ctx: Context, settings: SyncSettings, records: LocalRecords, localSide: LocalSide, manifest: ManifestWriter, result: SyncAssetsResult, tree: BucketTree): Promise<void> {
  const { lastSyncFile, lastSync } = records;
  const manifestEtag = manifest.etag;
  if (!lastSyncFile || !manifestEtag || result.failed.length > 0) return;
  const written = parseManifest(manifest.text);
  const objects = recordedObjects(localSide.local, tree);
  if (!objects || written.pendingInvalidation.length > 0 || objectsDigest(Object.entries(written.objects)) !== objects) return;
  if (lastSync?.manifestEtag === manifestEtag && lastSync.objects === objects) return;
  try {
    await writeHashCache(lastSyncFile, serializeLastSync({ bucket: settings.bucket, manifestEtag, objects }));
  } catch (error) {
    ctx.ui.debug(`Could not record the sync in ${lastSyncFile} (${describeError(error)}); the next run lists the bucket.`);
  }
}

/** Saves the hash cache (unless the caller did), stamps the duration and prints the summary line. */
async function finish(ctx: Context, started: number, settings: SyncSettings, localSide: LocalSide, result: SyncAssetsResult, hashCacheSaved = false): Promise<SyncAssetsResult> {
  if (!hashCacheSaved) await localSide.saveHashCache();
  result.durationMs = ctx.clock.now() - started;
  if (settings.dryRun) ctx.ui.info(formatSummary(result));
  else if (result.failed.length > 0) ctx.ui.warn(formatSummary(result));
  else ctx.ui.success(formatSummary(result));
  return result;
}

/**
 * The error a caller should exit with after a sync that did not fully succeed, or undefined.
 * `lamp sync-assets` throws it; `lamp deploy` can do the same after its stack update.
 */
export function syncFailure(result: SyncAssetsResult): LampError | undefined {
  if (result.failed.length > 0) {
    const names = (failures: FailedAsset[]) => {
      const more = failures.length > 3 ? ` and ${failures.length - 3} more` : "";
      return `${failures.slice(0, 3).map((failure) => failure.path).join(", ")}${more}`;
    };
    const reads = result.failed.filter((failure) => failure.operation === "read");
    const changes = result.failed.filter((failure) => failure.operation !== "read");
    const parts = [];
    if (reads.length > 0) parts.push(`${reads.length} file(s) could not be read and were skipped: ${names(reads)}`);
    if (changes.length > 0) parts.push(`${changes.length} of ${result.uploaded + result.deleted + changes.length} changes failed: ${names(changes)}`);
    return new LampError(
      "failed",
      `${parts.join("; ")}.`,
      reads.length > 0
        ? "The other files are uploaded. Make these readable (and their names valid UTF-8: S3 keys are), then run `lamp sync-assets` again."
        : "Fix the cause and run `lamp sync-assets` again: files already uploaded are not sent again.",
    );
  }
  if (result.invalidation?.status === "failed") {
    return new LampError(
      "aws",
      `The files are synced but the CloudFront invalidation failed: ${result.invalidation.error ?? "unknown error"}.`,
      "Run `lamp sync-assets` again to resend it.",
    );
  }
  return undefined;
}

function changesOf(plan: SyncPlan): AssetChange[] {
  return [
    ...plan.uploads.map(({ key, asset, reason }): AssetChange => ({
      action: "upload",
      key,
      path: asset.relativePath,
      reason,
      bytes: asset.size,
      contentType: asset.contentType,
      cacheControl: asset.cacheControl,
    })),
    ...plan.deletes.map((key): AssetChange => ({ action: "delete", key })),
  ];
}

