/**
 * Where assets live in the bucket and in CloudFront. The key prefix must equal the
 * distribution's `/assets/*` path pattern: CloudFront forwards the viewer's path to S3
 * unchanged, so `assets/css/app.css` is what `/assets/css/app.css` fetches.
 */
const assetsKeyPrefix = "assets/";

/** One invalidation path covering every asset (counts as one path for billing). */
const wildcardInvalidationPath = "/assets/*";

/**
 * lamp's record of what it uploaded (hash, type, cache policy per key), so a no-op sync
 * needs one listing and one small GET instead of a HEAD per object. Outside `assets/`,
 * so CloudFront never serves it and `--delete` never touches it.
 */
export const manifestKey = ".lamp/assets-manifest.json";

/**
 * One folder synced to one part of the bucket: where its objects live (key prefix), the URL path
 * CloudFront serves them at, and lamp's record of it. The assets folder is served at /assets/*
 * from `assets/`; the document root's static files at their own paths (`/favicon.ico`,
 * `/wp-includes/css/x.css`) from `document-root/`, through an origin whose OriginPath is
 * /document-root, so the viewer's path is never rewritten (a file missing from the bucket fails
 * over to PHP with its path intact).
 */
export interface BucketTree {
  keyPrefix: string;
  /** The URL path of the key prefix: `/assets/`, or `/` for the document root. */
  pathPrefix: string;
  manifestKey: string;
  /** The one invalidation path that covers the whole tree. */
  wildcardPath: string;
  /** What the folder is called in messages. */
  label: string;
}

export const assetsTree: BucketTree = {
  keyPrefix: assetsKeyPrefix,
  pathPrefix: "/assets/",
  manifestKey,
  wildcardPath: wildcardInvalidationPath,
  label: "assets",
};

/** The bucket prefix of the document root's static files (the DocumentRoot origin's OriginPath). */
const documentRootKeyPrefix = "document-root/";

export const documentRootTree: BucketTree = {
  keyPrefix: documentRootKeyPrefix,
  pathPrefix: "/",
  manifestKey: ".lamp/document-root-manifest.json",
  wildcardPath: "/*",
  label: "document root",
};

export function keyFor(relativePath: string, tree: BucketTree = assetsTree): string {
  return `${tree.keyPrefix}${relativePath}`;
}

export function relativePathOf(key: string): string | undefined {
  return key.startsWith(assetsKeyPrefix) ? key.slice(assetsKeyPrefix.length) : undefined;
}

/**
 * Characters CloudFront wants percent-encoded in an invalidation path: RFC 1738's unsafe set,
 * plus `?` (would start a query string) and `*` (a wildcard). CloudFront's guide says to
 * leave every other ASCII character as it is, or the path no longer matches the cached one.
 */
const mustEncode = new Set([..." \"<>#%{}|\\^~[]`?*"]);

/**
 * The invalidation path for a key: the URL path CloudFront serves it at (`assets/a.css` →
 * `/assets/a.css`, `document-root/favicon.ico` → `/favicon.ico`), non-ASCII bytes and unsafe
 * characters percent-encoded.
 */
export function invalidationPathFor(key: string, tree: BucketTree = assetsTree): string {
  const path = key.startsWith(tree.keyPrefix) ? tree.pathPrefix + key.slice(tree.keyPrefix.length) : `/${key}`;
  let encoded = "";
  for (const character of path) {
    const code = character.codePointAt(0)!;
    if (code < 0x21 || code > 0x7e || mustEncode.has(character)) {
      for (const byte of Buffer.from(character, "utf8")) encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    } else {
      encoded += character;
    }
  }
  return encoded;
}
