// Where a no-op `lamp sync-assets` spends its time: each step it takes, timed one after the other
// in one fresh process (lamp overlaps the listing with the walk; here they are apart so each can
// be read). Prints one JSON line of milliseconds.
// Usage: node bench/sync-noop-phases.mjs <endpoint> <bucket> <project folder>
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

const { S3Client } = await import("@aws-sdk/client-s3");
lap("sdkImport");
const { findProject } = await import("../dist/core/config.js");
const { listObjects, readText } = await import("../dist/assets/remote.js");
const { walkAssets } = await import("../dist/assets/local.js");
const { cachedSha256, hashCacheFileName, parseHashCache, readHashCacheFile } = await import("../dist/assets/hash-cache.js");
const { parseManifest, withManifest } = await import("../dist/assets/manifest.js");
const { assetsTree } = await import("../dist/assets/keys.js");
lap("lampModules");
await findProject(project);
lap("readLampJson");
const s3 = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true });
const listing = await listObjects(s3, bucket, assetsTree.keyPrefix);
lap("listing");
const manifestText = (await readText(s3, bucket, assetsTree.manifestKey))?.text;
lap("getManifest");
const tree = await walkAssets(path.join(project, "assets"));
lap("walk");
const cached = await readHashCacheFile(path.join(project, ".lamp", hashCacheFileName(assetsTree)));
const cache = parseHashCache(cached.text, tree.root, cached.writtenAtNs);
let fromCache = 0;
for (const file of tree.files) if (cachedSha256(cache, file.relativePath, file.stamp)) fromCache += 1;
lap("hashCache");
withManifest(listing, parseManifest(manifestText));
lap("manifest");
s3.destroy();
console.log(JSON.stringify({ ...times, total: Math.round(performance.now() - started), keys: listing.length, files: tree.files.length, fromCache }));
