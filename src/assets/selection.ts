import { assetGlob } from "./media.js";

/**
 * Which files of the assets folder are public. Shared by `lamp sync-assets` (what it uploads)
 * and `lamp dev` (what /assets/* serves), so nothing is visible locally that would not be
 * deployed, and nothing secret is ever deployed.
 */

/** Why a path is not uploaded, for `--verbose` and dry runs. */
export type AssetExclusion = "dotfile" | "excluded" | "invalid";

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

/** True when the file may be uploaded and served. */
export function isAssetPathAllowed(relativePath: string, exclude: readonly string[] = []): boolean {
  return assetExclusion(relativePath, exclude) === undefined;
}
