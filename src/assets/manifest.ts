import type { RemoteObject } from "./model.js";

/**
 * lamp's record of the objects it wrote: per key, the ETag S3 gave it and the hash, type and
 * cache policy lamp set. An entry is trusted only while the listing still shows the same ETag
 * and size, so anything changed behind lamp's back is looked at again (HEAD), never assumed.
 */
export interface AssetsManifest {
  version: 1;
  objects: Record<string, ManifestEntry>;
  /**
   * Invalidation paths a previous run could not send (CloudFront failed or the run was
   * interrupted after uploading): sent by the next run, so a re-run converges.
   */
  pendingInvalidation: string[];
}

export interface ManifestEntry {
  etag: string;
  size: number;
  sha256: string;
  contentType: string;
  cacheControl: string;
}

export function emptyManifest(): AssetsManifest {
  return { version: 1, objects: {}, pendingInvalidation: [] };
}

/** Parses a stored manifest; anything unreadable counts as no manifest (HEADs take over). */
export function parseManifest(text: string | undefined): AssetsManifest {
  if (!text) return emptyManifest();
  try {
    const data = JSON.parse(text) as Partial<AssetsManifest>;
    if (data.version !== 1 || typeof data.objects !== "object" || data.objects === null) return emptyManifest();
    const objects: Record<string, ManifestEntry> = {};
    for (const [key, entry] of Object.entries(data.objects)) {
      if (isEntry(entry)) objects[key] = entry;
    }
    const pending = Array.isArray(data.pendingInvalidation) ? data.pendingInvalidation.filter((path) => typeof path === "string") : [];
    return { version: 1, objects, pendingInvalidation: pending };
  } catch {
    return emptyManifest();
  }
}

function isEntry(value: unknown): value is ManifestEntry {
  const entry = value as Partial<ManifestEntry> | null;
  return (
    typeof entry === "object" && entry !== null &&
    typeof entry.etag === "string" && typeof entry.size === "number" && typeof entry.sha256 === "string" &&
    typeof entry.contentType === "string" && typeof entry.cacheControl === "string"
  );
}

export function serializeManifest(manifest: AssetsManifest): string {
  const objects = Object.fromEntries(Object.entries(manifest.objects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ version: 1, objects, pendingInvalidation: manifest.pendingInvalidation })}\n`;
}

/** The listing, completed with what the manifest knows about objects that have not changed since. */
export function withManifest(listing: readonly RemoteObject[], manifest: AssetsManifest): Map<string, RemoteObject> {
  const remote = new Map<string, RemoteObject>();
  for (const object of listing) {
    const entry = manifest.objects[object.key];
    if (entry && entry.etag === object.etag && entry.size === object.size) {
      remote.set(object.key, { ...object, sha256: entry.sha256, contentType: entry.contentType, cacheControl: entry.cacheControl });
    } else {
      remote.set(object.key, object);
    }
  }
  return remote;
}

/** True when the manifest records exactly the listed objects, each with the ETag and size listed. */
export function describesListing(manifest: AssetsManifest, listing: readonly RemoteObject[]): boolean {
  if (Object.keys(manifest.objects).length !== listing.length) return false;
  return listing.every((object) => {
    const entry = manifest.objects[object.key];
    return entry !== undefined && entry.etag === object.etag && entry.size === object.size;
  });
}

/** A manifest entry for every object whose hash and metadata are known. */
export function manifestFrom(remote: Iterable<RemoteObject>, pendingInvalidation: readonly string[]): AssetsManifest {
  const manifest = emptyManifest();
  for (const object of remote) {
    if (object.sha256 === undefined || object.contentType === undefined || object.cacheControl === undefined) continue;
    manifest.objects[object.key] = {
      etag: object.etag,
      size: object.size,
      sha256: object.sha256,
      contentType: object.contentType,
      cacheControl: object.cacheControl,
    };
  }
  manifest.pendingInvalidation = [...new Set(pendingInvalidation)].sort();
  return manifest;
}
