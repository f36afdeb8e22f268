// The server's ceiling: a minimal concurrent uploader with no listing, hashing or diffing.
// Reads every file of a folder and PUTs it under assets/ with N requests in flight.
// Usage: node bench/sync-ceiling.mjs <endpoint> <bucket> <dir> [concurrency]
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const [endpoint, bucket, dir, concurrencyText = "16"] = process.argv.slice(2);
const s3 = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED" });
const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile())
  .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
let next = 0;
const worker = async () => {
  while (next < files.length) {
    const file = files[next++];
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `assets/${path.relative(dir, file)}`, Body: await readFile(file) }));
  }
};
await Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
s3.destroy();
