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

/**
 * The allow-list of static types served from the document root (lamp.json `documentRoot`), where
 * they sit next to PHP code and configuration: styles and scripts (and their source maps), images,
 * fonts, audio and video, PDF and plain text (robots.txt), web manifests. Deliberately not: `.php`
 * and its kin, `.json` (composer.json, auth.json hold tokens), `.xml` (config files such as
 * Magento's local.xml), `.html` (templates), `.yml`, `.ini`, `.log`, `.sql`, `.bak`, archives —
 * anything not listed stays private and is answered by PHP; so do names that are code or
 * configuration under a static extension (`x.php.css`, `wp-config.txt`). The assets folder has no such
 * limit: everything in it is meant to be public.
 */
export const staticExtensions: readonly string[] = [
  "css", "js", "mjs", "map", "wasm",
  "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "bmp", "apng",
  "woff", "woff2", "ttf", "otf", "eot",
  "mp4", "webm", "ogv", "mp3", "ogg", "oga", "m4a", "wav", "flac",
  "pdf", "txt", "webmanifest",
];

const staticExtensionSet = new Set(staticExtensions);

/** Whether a file name has an allow-listed static extension (case-insensitive: `LOGO.PNG` too), and is not a disguised secret. */
export function isStaticType(relativePath: string): boolean {
  // No slicing until there is an extension to look at: lamp dev asks this of every request path.
  const dot = relativePath.lastIndexOf(".");
  const slash = relativePath.lastIndexOf("/");
  if (dot <= slash + 1) return false;
  const extension = relativePath.slice(dot + 1);
  if (!staticExtensionSet.has(extension) && !staticExtensionSet.has(extension.toLowerCase())) return false;
  return !isCodeOrConfigName(relativePath.slice(slash + 1).toLowerCase(), extension.toLowerCase());
}

/**
 * Names that are code or configuration whatever their last extension: anything with `.php` (or
 * `.phtml`, `.phar`) in it (`x.php.css`, `wp-config.php.txt`, an editor's `index.php.txt` backup),
 * anything named after `wp-config`, and text copies of `config`/`env` files (`config.txt`,
 * `env.txt`, `app.config.txt`): renamed backups that would publish passwords.
 */
function isCodeOrConfigName(lowerCaseName: string, lowerCaseExtension: string): boolean {
  if (/\.ph(p|tml)|\.phar(\.|$)/.test(lowerCaseName) || lowerCaseName.startsWith("wp-config")) return true;
  return lowerCaseExtension === "txt" && /(^|[.\-_])(env|config)([.\-_]|$)/.test(lowerCaseName.slice(0, -4));
}

/**
 * For the document root: why a file whose name and target are otherwise public is still not
 * served as a static file — its name, or the name its symlink resolves to, is not an allow-listed
 * type (`ln -s wp-config.php public/x.css` stays private). Undefined when both are static types.
 */
export function staticTypeExclusion(relativePath: string, targetPath: string | undefined): "not-a-static-type" | undefined {
  if (!isStaticType(relativePath)) return "not-a-static-type";
  if (targetPath !== undefined && targetPath !== relativePath && !isStaticType(targetPath)) return "not-a-static-type";
  return undefined;
}
