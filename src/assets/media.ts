import path from "node:path";
import mime from "mime-types";
import picomatch from "picomatch";

/**
 * Content-Type and Cache-Control for a static asset. One module for both `lamp sync-assets`
 * (the metadata stored on each S3 object) and `lamp dev` (the headers of /assets/* locally),
 * so a file behaves the same on a laptop and behind CloudFront.
 */

const fallbackContentType = "application/octet-stream";

/**
 * Extensions where the `mime-types` database is wrong for the web, missing, or ambiguous.
 * Each entry is a bug seen in the wild: module scripts refuse a non-JavaScript type,
 * `WebAssembly.instantiateStreaming` refuses anything but application/wasm, and so on.
 */
const explicitTypes: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  // mime-types says application/node: browsers refuse to run that as a script.
  ".cjs": "text/javascript",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json",
  ".json": "application/json",
  // Source maps are JSON (DevTools fetches them; the spec asks for application/json).
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".svgz": "image/svg+xml",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".css": "text/css",
  ".html": "text/html",
  ".htm": "text/html",
  ".txt": "text/plain",
  ".xml": "application/xml",
  ".ico": "image/x-icon",
  ".avif": "image/avif",
  ".webp": "image/webp",
  ".apng": "image/apng",
  ".jxl": "image/jxl",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".m3u8": "application/vnd.apple.mpegurl",
  ".jsonld": "application/ld+json",
  ".geojson": "application/geo+json",
  ".md": "text/markdown",
  // Brotli/gzip files uploaded as-is are opaque bytes; serving them as text would garble them.
  ".br": fallbackContentType,
};

/** Types whose bodies are text, so a charset belongs on them. */
function isTextType(type: string): boolean {
  if (type.startsWith("text/")) return true;
  if (type === "application/javascript" || type === "application/json" || type === "application/xml") return true;
  // application/manifest+json, application/ld+json, image/svg+xml, application/rss+xml, ...
  return /\+(json|xml)$/.test(type);
}

/** The Content-Type for a file name, with `; charset=utf-8` on text types. */
export function contentTypeFor(filePath: string): string {
  const extension = path.extname(filePath).toLowerCase();
  // ".svgz" is gzip-compressed SVG: the type is SVG but the bytes are not text.
  const base = explicitTypes[extension] ?? (extension ? mime.lookup(extension) || fallbackContentType : fallbackContentType);
  if (extension === ".svgz") return base;
  return isTextType(base) ? `${base}; charset=utf-8` : base;
}

export const immutableCacheControl = "public, max-age=31536000, immutable";
/** Long enough to absorb a burst of visitors, short enough that a changed file shows up in minutes. */
export const revalidateCacheControl = "public, max-age=300, must-revalidate";

/**
 * Whether a file name carries a content hash put there by a bundler, so its content can
 * never change under that name. Deliberately conservative: calling a plain name such as
 * `bootstrap5.css` fingerprinted would pin a stale file in browsers for a year, while
 * missing a real hash only costs a revalidation. Recognised, as a `.`- or `-`-separated
 * part before the extension:
 * - hex of 8+ characters with both digits and letters (webpack `[contenthash]`, `app.3f9a1c2e.css`);
 * - 8+ letters and digits with a digit, two capitals and a lower-case letter (Vite/Rollup `index-Bx3kQ9aZ.js`);
 * - 8+ capitals and digits with two of each (esbuild `chunk-7QX2KJ4P.js`).
 */
export function isFingerprinted(relativePath: string): boolean {
  const parts = path.posix.basename(relativePath).split(/[.-]/);
  // The last part is the extension; a name without one has no extension to skip.
  const candidates = parts.length > 1 ? parts.slice(0, -1) : parts;
  return candidates.some(isHashLike);
}

function isHashLike(part: string): boolean {
  if (part.length < 8 || part.length > 64) return false;
  const sameCase = part === part.toLowerCase() || part === part.toUpperCase();
  if (/^[0-9a-f]+$/i.test(part) && sameCase && /[0-9]/.test(part) && /[a-f]/i.test(part)) return true;
  if (!/^[A-Za-z0-9]+$/.test(part)) return false;
  const digits = part.replace(/[^0-9]/g, "").length;
  const capitals = part.replace(/[^A-Z]/g, "").length;
  const lower = part.replace(/[^a-z]/g, "").length;
  if (lower === 0) return digits >= 2 && capitals >= 2;
  return digits >= 1 && capitals >= 2 && lower >= 1;
}

const overrideMatchers = new Map<string, (relativePath: string) => boolean>();

/**
 * A glob relative to the assets folder. As in .gitignore, a pattern without a slash
 * (`*.woff2`) matches the file name at any depth; one with a slash (`fonts/**`) matches
 * from the folder's root.
 */
export function assetGlob(pattern: string): (relativePath: string) => boolean {
  let matcher = overrideMatchers.get(pattern);
  if (!matcher) {
    const normalized = pattern.replace(/^\.?\//, "");
    matcher = picomatch(normalized, { dot: true, basename: !normalized.includes("/") });
    overrideMatchers.set(pattern, matcher);
  }
  return matcher;
}

/**
 * The Cache-Control for an asset, by its path relative to the assets folder (`/` separators).
 * The first glob in `overrides` (lamp.json `assets.cacheControl`) that matches wins;
 * otherwise fingerprinted names are cached for a year as immutable, everything else briefly.
 */
export function cacheControlFor(relativePath: string, overrides: Record<string, string> = {}): string {
  for (const [pattern, value] of Object.entries(overrides)) {
    if (assetGlob(pattern)(relativePath)) return value;
  }
  return isFingerprinted(relativePath) ? immutableCacheControl : revalidateCacheControl;
}
