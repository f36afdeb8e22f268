// The server's ceiling, as a peer for lamp sync-assets:
// - upload: a minimal concurrent uploader with no listing, hashing or diffing (PUT every file under assets/);
// - list: the least a correct no-op sync must do, one full listing of assets/.
// Usage: node bench/sync-ceiling.mjs upload <endpoint> <bucket> <dir> [concurrency]
//        node bench/sync-ceiling.mjs list <endpoint> <bucket>
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const [mode, endpoint, bucket, dir, concurrencyText = "16"] = process.argv.slice(2);
const s3 = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED" });
if (mode === "list") {
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "assets/", ContinuationToken: token }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
} else {
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
}
s3.destroy();
