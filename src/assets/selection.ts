import path from "node:path";
import { assetGlob } from "./media.js";

/**
 * Which files of the assets folder are public. Shared by `lamp sync-assets` (what it uploads)
 * and `lamp dev` (what /assets/* serves), so nothing is visible locally that would not be
 * deployed, and nothing secret is ever deployed.
 *
 * Pure: callers do the file system work (realpath) and pass in paths. A file is judged twice:
 * by the name it is reached under, and by what that name resolves to, so a symlink cannot
 * publish what its target's own name would keep private (`ln -s .env assets/app.txt`).
 */

/** Why a path is not public, judged on its name. */
export type AssetExclusion = "dotfile" | "excluded" | "invalid";

/** Why a path is not public, judged on what it resolves to (through symlinks). */
export type AssetTargetExclusion = "symlink-outside" | "symlink-to-dotfile" | "symlink-to-excluded";

/**
 * The reason `relativePath` (relative to the assets folder, `/` separators) is not public,
 * or undefined when it is.
 * - Any segment starting with a dot (`.env`, `.git/config`, `img/.DS_Store`, `..`) is never public.
 * - A glob from lamp.json's `assets.exclude` excludes a file when it matches the file or any
 *   folder above it (`drafts` and `drafts/**` both exclude `drafts/a.css`).
 */
export function assetExclusion(relativePath: string, exclude: readonly string[] = []): AssetExclusion | undefined {
  if (relativePath === "" || relativePath.startsWith("/") || relativePath.includes("\\") || relativePath.includes("\0")) return "invalid";
  const segments = relativePath.split("/");
  if (segments.some((segment) => segment === "")) return "invalid";
  if (segments.some((segment) => segment.startsWith("."))) return "dotfile";
  if (exclude.length === 0) return undefined;
  for (let depth = 1; depth <= segments.length; depth += 1) {
    const prefix = segments.slice(0, depth).join("/");
    if (exclude.some((pattern) => assetGlob(pattern)(prefix))) return "excluded";
  }
  return undefined;
}

/**
 * Why a path whose name is public must still not be served or uploaded because of what it
 * resolves to, or undefined when the target is public too.
 * `targetPath` is the real path relative to the real assets folder (`/` separators), as
 * `pathInsideFolder` gives it, or undefined when the target lies outside the folder.
 */
export function assetTargetExclusion(targetPath: string | undefined, exclude: readonly string[] = []): AssetTargetExclusion | undefined {
  if (targetPath === undefined) return "symlink-outside";
  const exclusion = assetExclusion(targetPath, exclude);
  if (exclusion === "excluded") return "symlink-to-excluded";
  // "invalid" cannot come from a real path inside the folder; treat it like a dotfile (never public).
  if (exclusion) return "symlink-to-dotfile";
  return undefined;
}

/**
 * Why a file reached as `relativePath`, whose real location is `targetPath` (see
 * `assetTargetExclusion`), is not public — or undefined when both its name and its target are.
 * The one rule both `lamp dev` and `lamp sync-assets` apply.
 */
export function publicAssetExclusion(
  relativePath: string,
  targetPath: string | undefined,
  exclude: readonly string[] = [],
): AssetExclusion | AssetTargetExclusion | undefined {
  return assetExclusion(relativePath, exclude) ?? (targetPath === relativePath ? undefined : assetTargetExclusion(targetPath, exclude));
}

/** True when the file may be uploaded and served, judged on its name alone. */
export function isAssetPathAllowed(relativePath: string, exclude: readonly string[] = []): boolean {
  return assetExclusion(relativePath, exclude) === undefined;
}

/**
 * `realPath` relative to `realFolder` with `/` separators, or undefined when it is the folder
 * itself or lies outside it. Both must already be real paths (symlinks resolved).
 */
export function pathInsideFolder(realFolder: string, realPath: string): string | undefined {
  const relative = path.relative(realFolder, realPath);
  if (relative === "" || path.isAbsolute(relative) || relative === ".." || relative.startsWith(`..${path.sep}`)) return undefined;
  return relative.split(path.sep).join("/");
}
