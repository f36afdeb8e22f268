import { access } from "node:fs/promises";
import path from "node:path";
import type { LampConfig } from "../project/config.js";
import type { Context } from "../core/context.js";
import type { LampError } from "../core/errors.js";
import { documentRootFolder } from "./document-root.js";
import { projectHashCacheDir } from "./hash-cache.js";
import type { SyncAssetsResult } from "./model.js";
import { syncAssets, syncFailure, type SyncAssetsOptions } from "./sync.js";

/**
 * "Sync this project's static files": the assets folder (served at /assets/*), then the document
 * root's static files (served at their own paths). The one path `lamp deploy` and `lamp sync-assets`
 * take, with one result shape.
 */

/** The assets folder's sync, with the document root's beside it when there is one. */
export type ProjectSyncResult = SyncAssetsResult & { documentRoot?: SyncAssetsResult };

export interface ProjectSyncInput {
  /** The project (lamp.json and its folder); none outside a project, where only `assetsDir` syncs. */
  project?: { root: string; config: LampConfig };
  /** Where the files go: the stack's bucket, its region, its distribution (from the stack's outputs or flags). */
  target: { bucket: string; region: string; distributionId?: string };
  /** `--dir`: sync this folder alone, as the assets folder (no document root). */
  assetsDir?: string;
  /** The command's flags; unset ones take the sync's defaults. */
  options?: Pick<SyncAssetsOptions, "delete" | "dryRun" | "force" | "full" | "concurrency" | "invalidate" | "wait">;
  /** Without an assets folder: "skip" it (a deploy: maybe the app has none) or "fail" (sync-assets was asked to). */
  missingAssetsFolder: "skip" | "fail";
}

/** Null when there was nothing at all to sync (no assets folder and no document root). */
export async function syncProjectStaticFiles(input: ProjectSyncInput, ctx: Context): Promise<ProjectSyncResult | null> {
  const { project, target } = input;
  const config = project?.config;
  const base = project?.root ?? ctx.cwd;
  const common: Omit<SyncAssetsOptions, "assetsDir"> = {
    ...input.options,
    ...target,
    // Outside a project there is no .lamp/ to keep hashes in: each run hashes what the bucket has.
    hashCacheDir: project ? projectHashCacheDir(project.root) : undefined,
    invalidationThreshold: config?.assets.invalidationThreshold,
  };
  const assetsDir = path.resolve(base, input.assetsDir ?? config?.assets.dir ?? "assets");
  const hasAssets = input.missingAssetsFolder === "fail" || (await access(assetsDir).then(() => true, () => false));
  if (!hasAssets) ctx.ui.info(`No ${config?.assets.dir ?? "assets"}/ folder: no assets to sync.`);
  const assets = hasAssets ? await syncAssets({ ...common, assetsDir, exclude: config?.assets.exclude, cacheControl: config?.assets.cacheControl }, ctx) : null;
  // The document root's static files (favicon.ico, build/, wp-includes/...) too, unless --dir chose one folder.
  if (!project || !config || input.assetsDir !== undefined) return assets;
  const folder = await documentRootFolder(project.root, config.documentRoot);
  if (!folder) {
    ctx.ui.debug(`No ${config.documentRoot}/ folder: no document-root static files to sync.`);
    return assets;
  }
  const documentRoot = await syncAssets({ ...common, assetsDir: folder, documentRoot: true }, ctx);
  // Without an assets folder, the document root's sync is the one to report.
  return assets ? { ...assets, documentRoot } : documentRoot;
}

/** The error to exit with after a project sync that did not fully succeed, or undefined. */
export function projectSyncFailure(result: ProjectSyncResult): LampError | undefined {
  return syncFailure(result) ?? (result.documentRoot && syncFailure(result.documentRoot));
}
