// Where a no-op `lamp sync-assets` spends its time: each step it takes, timed one after the other
// in one fresh process (lamp overlaps the conditional GET with the walk; here they are apart so
// each can be read), then the listing it no longer needs. Prints one JSON line of milliseconds.
// Usage: node bench/sync-noop-phases.mjs <endpoint> <bucket> <project folder>
import { createRequire } from "node:module";
import path from "node:path";

const [endpoint, bucket, project] = process.argv.slice(2);
const started = performance.now();
const times = {};
let last = started;
const lap = (name) => {
  const now = performance.now();
  times[name] = Math.round(now - last);
  last = now;
};

// As lamp loads it (src/assets/s3-sdk.ts): require(), not an ESM import of the CommonJS SDK.
const { S3Client } = createRequire(import.meta.url)("@aws-sdk/client-s3");
lap("sdkImport");
const { findProject } = await import("../dist/project/config.js");
const { listObjects, readText } = await import("../dist/assets/remote.js");
const { walkAssets } = await import("../dist/assets/local.js");
const { cachedSha256, hashCacheFileName, parseHashCache, readHashCacheFile } = await import("../dist/assets/hash-cache.js");
const { lastSyncFileName, objectsDigest, readLastSync } = await import("../dist/assets/last-sync.js");
const { assetsTree, keyFor } = await import("../dist/assets/keys.js");
lap("lampModules");
await findProject(project);
lap("readLampJson");
const s3 = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true });
const lastSync = await readLastSync(path.join(project, ".lamp", lastSyncFileName(assetsTree)), bucket);
// What a no-op asks the bucket after a complete sync: is the manifest still the one lamp left (304)?
const check = await readText(s3, bucket, assetsTree.manifestKey, undefined, lastSync?.manifestEtag);
lap("conditionalGet");
const tree = await walkAssets(path.join(project, "assets"));
lap("walk");
const cached = await readHashCacheFile(path.join(project, ".lamp", hashCacheFileName(assetsTree)));
const cache = parseHashCache(cached.text, tree.root, cached.writtenAtNs);
let fromCache = 0;
const hashes = tree.files.map((file) => {
  const sha256 = cachedSha256(cache, file.relativePath, file.stamp);
  if (sha256) fromCache += 1;
  return sha256;
});
lap("hashCache");
// Type and cache policy are left out here: the digest's cost is what is timed.
objectsDigest(tree.files.map((file, index) => [keyFor(file.relativePath, assetsTree), { size: file.size, sha256: hashes[index] ?? "", contentType: "", cacheControl: "" }]));
lap("digest");
// What the no-op no longer needs: the listing of every key.
const listing = await listObjects(s3, bucket, assetsTree.keyPrefix);
lap("listing");
s3.destroy();
console.log(JSON.stringify({ ...times, total: Math.round(performance.now() - started), keys: listing.length, files: tree.files.length, fromCache, notModified: check === "not-modified" ? 1 : 0 }));
