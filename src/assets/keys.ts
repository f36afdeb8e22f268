/**
 * Where assets live in the bucket and in CloudFront. The key prefix must equal the
 * distribution's `/assets/*` path pattern: CloudFront forwards the viewer's path to S3
 * unchanged, so `assets/css/app.css` is what `/assets/css/app.css` fetches.
 */
export const assetsKeyPrefix = "assets/";

/** One invalidation path covering every asset (counts as one path for billing). */
export const wildcardInvalidationPath = "/assets/*";

/**
 * lamp's record of what it uploaded (hash, type, cache policy per key), so a no-op sync
 * needs one listing and one small GET instead of a HEAD per object. Outside `assets/`,
 * so CloudFront never serves it and `--delete` never touches it.
 */
export const manifestKey = ".lamp/assets-manifest.json";

export function keyFor(relativePath: string): string {
  return `${assetsKeyPrefix}${relativePath}`;
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

/** The invalidation path for a key: `/` + the key with non-ASCII bytes and unsafe characters percent-encoded. */
export function invalidationPathFor(key: string): string {
  let encoded = "/";
  for (const character of key) {
    const code = character.codePointAt(0)!;
    if (code < 0x21 || code > 0x7e || mustEncode.has(character)) {
      for (const byte of Buffer.from(character, "utf8")) encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    } else {
      encoded += character;
    }
  }
  return encoded;
}
