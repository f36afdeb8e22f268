import type { S3Client } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import { LampError, reportingCancellation } from "../core/errors.js";
import { setMaxListeners } from "node:events";
import path from "node:path";
import { assetsTree, documentRootTree, keyFor } from "./keys.js";
import { sha256OfFile, unreadableReason, walkAssets, type UnreadablePath } from "./local.js";
import { cachedSha256, hashCacheFileName, parseHashCache, readHashCacheFile, serializeHashCache, writeHashCache, type HashCacheEntry } from "./hash-cache.js";
import { forgetLastSync, lastSyncFileName, objectsDigest, readLastSync, serializeLastSync } from "./last-sync.js";
import { describesListing, manifestFrom, parseManifest, serializeManifest, withManifest } from "./manifest.js";
import { cacheControlFor, contentTypeFor } from "./media.js";
import type { AssetChange, FailedAsset, InvalidationSummary, LocalAsset, RemoteObject, SyncAssetsResult, SyncPlan } from "./model.js";
import { keysToInspect, planInvalidation, planSync } from "./plan.js";
import { forEachLimit } from "./pool.js";
import { s3Sdk } from "./s3-sdk.js";
import { deleteObjects, inspectObject, listObjects, multipartThreshold, readText, uploadAsset, writeText } from "./remote.js";
import { formatBytes, formatChange, formatProgress, formatSummary } from "./report.js";

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

export type { AssetChange, FailedAsset, InvalidationSummary, SyncAssetsResult, UploadReason } from "./model.js";

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


/** Local files hashed at once: enough to keep the disk and a core busy. */
const hashConcurrency = 8;
/** How often the progress bar redraws. */
const progressIntervalMs = 100;

function resolveOptions(options: SyncAssetsOptions) {
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

function describeError(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

/**
 * Makes `assets/` in the bucket match the local assets folder: uploads new and changed files
 * (by content hash, type and cache policy), then deletes keys without a local file, then
 * invalidates in CloudFront what visitors may have cached. Per-file failures are collected in
 * `result.failed` rather than thrown; the caller decides the exit code (the command exits 1).
 */
export async function syncAssets(options: SyncAssetsOptions, ctx: Context): Promise<SyncAssetsResult> {
  return reportingCancellation(ctx.signal, () => runSync(options, ctx));
}

async function runSync(options: SyncAssetsOptions, ctx: Context): Promise<SyncAssetsResult> {
  const settings = resolveOptions(options);
  const started = ctx.clock.now();
  const { ui, signal } = ctx;
  const s3 = ctx.aws.client(s3Sdk.S3Client, { region: settings.region });
  const tree = settings.documentRoot ? documentRootTree : assetsTree;
  const { manifestKey } = tree;

  // Every request in flight listens to the signal; more than Node's default of 10 is expected.
  setMaxListeners(Math.max(64, settings.concurrency * 4), signal);

  const hashCacheFile = settings.hashCacheDir ? path.join(settings.hashCacheDir, hashCacheFileName(tree)) : undefined;
  const hashCacheRead = hashCacheFile ? readHashCacheFile(hashCacheFile) : undefined;
  const lastSyncFile = settings.hashCacheDir ? path.join(settings.hashCacheDir, lastSyncFileName(tree)) : undefined;
  const lastSync = lastSyncFile && !settings.force && !settings.full ? await readLastSync(lastSyncFile, settings.bucket) : undefined;

  // The manifest only saves requests: without it (or without access to it) each object's metadata is read instead.
  const readManifest = (unlessEtag?: string) =>
    readText(s3, settings.bucket, manifestKey, signal, unlessEtag).catch((error: unknown) => {
      if (signal.aborted) throw error;
      ui.debug(`Could not read ${manifestKey} (${describeError(error)}).`);
      return undefined;
    });
  let listedKeys: Set<string> | undefined;
  const readRemote = (manifestRead: ReturnType<typeof readManifest>) => {
    const state = Promise.all([
      listObjects(s3, settings.bucket, tree.keyPrefix, signal).then((objects) => {
        listedKeys = new Set(objects.map((object) => object.key));
        return objects;
      }),
      manifestRead.then((read) => (read === "not-modified" ? readManifest() : read)),
    ]);
    state.catch(() => {});
    return state;
  };
  // The remote side runs while the folder is walked and hashed. After a complete sync by this
  // project, first only ask whether the bucket's manifest is still the one it left (no body if so).
  const manifestCheck = lastSync ? readManifest(lastSync.manifestEtag) : undefined;
  manifestCheck?.catch(() => {});
  let remoteState = manifestCheck ? undefined : readRemote(readManifest());
  const walked = await walkAssets(
    settings.assetsDir,
    settings.exclude,
    signal,
    settings.documentRoot ? { staticTypesOnly: true, shadowed: [assetsTree.pathPrefix.slice(1, -1)] } : {},
  );
  const cached = hashCacheRead ? await hashCacheRead : {};
  const hashCache = parseHashCache(cached.text, walked.root, cached.writtenAtNs);
  let hashed = 0;
  let fromCache = 0;
  for (const skipped of walked.skipped) ui.debug(`skip    ${skipped.relativePath}  (${skipped.reason})`);
  // Found by the walk or by hashing: reported and skipped, never deleted remotely; the rest syncs.
  const unreadable: UnreadablePath[] = [...walked.unreadable];
  const candidates: LocalAsset[] = walked.files.map((file) => ({
    ...file,
    contentType: contentTypeFor(file.relativePath),
    cacheControl: cacheControlFor(file.relativePath, settings.cacheControl),
  }));
  // A small file the bucket lacks is hashed by its upload; once the listing is in, skip those here.
  const needsHash = (asset: LocalAsset) =>
    listedKeys === undefined || asset.size >= multipartThreshold || listedKeys.has(keyFor(asset.relativePath, tree));
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
  const unreadableFiles = new Set(unreadable.map((entry) => entry.relativePath));
  const local = unreadableFiles.size === 0 ? candidates : candidates.filter((asset) => !unreadableFiles.has(asset.relativePath));
  unreadable.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  for (const entry of unreadable) ui.warn(`Could not read ${entry.relativePath} (${entry.error}); skipped.`);

  // Records the hashes known now (read, cached or taken by an upload) for the next run.
  const saveHashCache = async () => {
    if (!hashCacheFile) return;
    // Every file's hash came from the cache, which holds no others: it would be written as it is.
    if (hashed === 0 && fromCache === local.length && fromCache === hashCache.files.size) return;
    const files: [string, HashCacheEntry][] = [];
    for (const asset of local) {
      if (asset.sha256 !== undefined && asset.stamp) files.push([asset.relativePath, { ...asset.stamp, sha256: asset.sha256 }]);
    }
    const text = serializeHashCache(walked.root, files);
    // Rewritten after any hashing even when the text is the same: its new mtime settles entries it could not vouch for.
    if (text === cached.text && hashed === 0) return;
    try {
      await writeHashCache(hashCacheFile, text);
    } catch (error) {
      ui.debug(`Could not record the files' hashes in ${hashCacheFile} (${describeError(error)}); the next run hashes them again.`);
    }
  };

  const recordedObjects = (assets: readonly LocalAsset[]) =>
    assets.every((asset) => asset.sha256 !== undefined)
      ? objectsDigest(assets.map((asset) => [keyFor(asset.relativePath, tree), { size: asset.size, sha256: asset.sha256!, contentType: asset.contentType, cacheControl: asset.cacheControl }]))
      : undefined;
  if (manifestCheck && lastSync) {
    const check = await manifestCheck;
    if (check === "not-modified" && unreadable.length === 0 && recordedObjects(local) === lastSync.objects) {
      ui.debug(`s3://${settings.bucket}/${manifestKey} is the one lamp's last sync left and no local file changed: the bucket is not listed (--full compares every object).`);
      const result: SyncAssetsResult = {
        bucket: settings.bucket,
        prefix: tree.keyPrefix,
        dryRun: settings.dryRun,
        uploaded: 0,
        unchanged: local.length,
        deleted: 0,
        bytes: 0,
        skipped: walked.skipped.length,
        invalidation: null,
        failed: [],
        changes: [],
        durationMs: 0,
      };
      await saveHashCache();
      result.durationMs = ctx.clock.now() - started;
      if (settings.dryRun) ui.info(formatSummary(result));
      else ui.success(formatSummary(result));
      return result;
    }
    remoteState = readRemote(Promise.resolve(check));
  }
  const [listing, manifestRead] = await remoteState!;
  const manifestText = manifestRead === "not-modified" ? undefined : manifestRead?.text;
  let manifestEtag = manifestRead === "not-modified" ? undefined : manifestRead?.etag;
  const manifest = parseManifest(manifestText);
  const remote = withManifest(listing, manifest);

  // Objects the manifest cannot vouch for (uploaded by another tool, or changed since): ask each one.
  const unknown = keysToInspect(local, remote, settings.force, tree);
  if (unknown.length > 0) ui.debug(`Reading the metadata of ${unknown.length} object(s) lamp has no record of.`);
  await forEachLimit(
    unknown,
    settings.concurrency,
    async (key) => {
      try {
        remote.set(key, await inspectObject(s3, settings.bucket, remote.get(key)!, signal));
      } catch (error) {
        if (signal.aborted) throw error;
        ui.debug(`Could not read ${key} (${describeError(error)}); it will be uploaded again.`);
      }
    },
    signal,
  );

  const plan = planSync(local, remote, { force: settings.force, delete: settings.delete, tree, unreadable: [...unreadableFiles] });
  // An empty folder is far more often a wrong --dir or a build that did not run than a wish to
  // take every asset offline: deleting them all needs saying so.
  // A document root with PHP but no static file left is not that: its last static file went.
  const emptyFolder = local.length === 0 && (!settings.documentRoot || walked.skipped.length === 0);
  if (emptyFolder && plan.deletes.length > 0 && !settings.force) {
    throw new LampError(
      "usage",
      `${settings.assetsDir} has no files to upload; syncing it would delete all ${plan.deletes.length} objects under s3://${settings.bucket}/${tree.keyPrefix}.`,
      "Check --dir (or \"assets.dir\" in lamp.json); pass --force to delete them all anyway, or --no-delete.",
    );
  }
  const invalidating = settings.invalidate && Boolean(settings.distributionId);
  const result: SyncAssetsResult = {
    bucket: settings.bucket,
    prefix: tree.keyPrefix,
    dryRun: settings.dryRun,
    uploaded: 0,
    unchanged: plan.unchanged.length,
    deleted: 0,
    bytes: 0,
    skipped: walked.skipped.length,
    invalidation: null,
    failed: unreadable.map((entry) => ({ path: entry.relativePath, key: keyFor(entry.relativePath, tree), operation: "read", error: entry.error })),
    changes: changesOf(plan),
    durationMs: 0,
  };

  if (settings.dryRun) {
    // The plan is the command's output; with --json stdout is kept for the JSON result (which lists the changes).
    const print = ui.json ? (line: string) => ui.info(line) : (line: string) => ui.out(line);
    for (const change of result.changes) print(formatChange(change));
    result.uploaded = plan.uploads.length;
    result.bytes = plan.uploads.reduce((sum, upload) => sum + upload.asset.size, 0);
    result.deleted = plan.deletes.length;
    const invalidation = invalidating ? planInvalidation(plan, settings.invalidationThreshold, manifest.pendingInvalidation, tree) : undefined;
    if (invalidation) {
      for (const path of invalidation.paths) print(`invalidate  ${path}`);
      result.invalidation = { paths: invalidation.paths, objects: invalidation.objects, status: "planned" };
    }
    await saveHashCache();
    result.durationMs = ctx.clock.now() - started;
    ui.info(formatSummary(result));
    return result;
  }

  // Objects as they stand after this run, for the manifest; failures drop out (HEAD next time).
  const after = new Map<string, RemoteObject>(remote);
  const done: SyncPlan = { uploads: [], unchanged: plan.unchanged, deletes: [] };
  let manifestWritten = manifestText;
  // Nothing learnt (no HEAD) and the listing is what the manifest says: a run that changes nothing
  // would write back the manifest it read, so it is not even rebuilt.
  const manifestCurrent = unknown.length === 0 && describesListing(manifest, listing);
  const saveManifest = async (pending: readonly string[], abortSignal?: AbortSignal) => {
    const unchanged =
      manifestCurrent && manifestWritten === manifestText && done.uploads.length === 0 && done.deletes.length === 0 &&
      result.failed.every((failure) => failure.operation === "read") && pending.join("\n") === manifest.pendingInvalidation.join("\n");
    if (unchanged) return;
    const text = serializeManifest(manifestFrom(after.values(), pending));
    if (text === manifestWritten) return;
    try {
      manifestEtag = undefined;
      manifestEtag = await writeText(s3, settings.bucket, manifestKey, text, "application/json; charset=utf-8", abortSignal);
      manifestWritten = text;
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      ui.warn(`Could not record the sync in s3://${settings.bucket}/${manifestKey} (${describeError(error)}); the next run reads each object's metadata instead.`);
    }
  };
  const pendingPaths = () =>
    invalidating ? (planInvalidation(done, 3000, manifest.pendingInvalidation, tree)?.paths ?? []) : [];

  // The record of the last sync must never outlive a change to the bucket, whatever stops this run.
  if (lastSyncFile && (plan.uploads.length > 0 || plan.deletes.length > 0)) {
    try {
      await forgetLastSync(lastSyncFile);
    } catch (error) {
      throw new LampError("io", `Cannot remove ${lastSyncFile}: ${describeError(error)}.`, "Make the project's .lamp/ folder writable, or delete that file, then run again.");
    }
  }
  try {
    await upload(plan, settings, ctx, s3, result, after, done);

    if (plan.deletes.length > 0) {
      if (result.failed.length > 0) {
        ui.warn(`Not deleting ${plan.deletes.length} old object(s) because some files failed; the next run will.`);
      } else {
        const failures = await deleteObjects(s3, settings.bucket, plan.deletes, signal);
        const failedKeys = new Set(failures.map((failure) => failure.key));
        for (const failure of failures) {
          result.failed.push({ path: failure.key, key: failure.key, operation: "delete", error: failure.error });
          ui.warn(`Could not delete ${failure.key}: ${failure.error}`);
        }
        for (const key of plan.deletes) {
          if (failedKeys.has(key)) continue;
          after.delete(key);
          done.deletes.push(key);
          ui.debug(`delete  ${key}`);
        }
        result.deleted = done.deletes.length;
      }
    }
  } catch (error) {
    // Interrupted or a hard failure: still record what did change, so a re-run invalidates
    // what was already replaced instead of finding it "unchanged" and leaving stale caches.
    // Ctrl-C has already aborted the run's signal: give this one write its own short deadline.
    await saveManifest(pendingPaths(), AbortSignal.timeout(5_000)).catch(() => {});
    throw error;
  }

  const pending = pendingPaths();
  await saveManifest(pending, signal);

  const invalidation = invalidating ? planInvalidation(done, settings.invalidationThreshold, manifest.pendingInvalidation, tree) : undefined;
  if (invalidation && settings.distributionId) {
    const summary: InvalidationSummary = { paths: invalidation.paths, objects: invalidation.objects, status: "created" };
    result.invalidation = summary;
    try {
      const { createInvalidation, waitForInvalidation } = await import("./invalidate.js");
      summary.id = await createInvalidation(ctx, settings.distributionId, invalidation.paths);
      await saveManifest([], signal);
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
  } else if (settings.invalidate && !settings.distributionId && (done.deletes.length > 0 || done.uploads.some((u) => u.reason !== "new"))) {
    ui.warn("No CloudFront distribution given: visitors may see cached copies of changed files until they expire.");
  }

  await saveHashCache();
  // A complete sync: the bucket's manifest records exactly the local files, nothing pending.
  const written = parseManifest(manifestWritten);
  const objects = recordedObjects(local);
  if (lastSyncFile && manifestEtag && objects && result.failed.length === 0 && written.pendingInvalidation.length === 0 &&
      objectsDigest(Object.entries(written.objects)) === objects && !(lastSync?.manifestEtag === manifestEtag && lastSync.objects === objects)) {
    try {
      await writeHashCache(lastSyncFile, serializeLastSync({ bucket: settings.bucket, manifestEtag, objects }));
    } catch (error) {
      ui.debug(`Could not record the sync in ${lastSyncFile} (${describeError(error)}); the next run lists the bucket.`);
    }
  }
  result.durationMs = ctx.clock.now() - started;
  if (result.failed.length > 0) ui.warn(formatSummary(result));
  else ui.success(formatSummary(result));
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

async function upload(
  plan: SyncPlan,
  settings: ReturnType<typeof resolveOptions>,
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
