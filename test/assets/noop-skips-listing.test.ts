import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { manifestKey } from "../../src/assets/keys.js";
import { syncAssets, type SyncAssetsOptions } from "../../src/assets/sync.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { localS3Credentials, startRecordingProxy, useLocalS3, type SeenRequest } from "./s3-server.js";
import { runLamp } from "../helpers/run-lamp.js";

/**
 * Issue 9 item 18: after a complete sync by this project, a no-op asks the bucket one thing —
 * is lamp's manifest still the one that sync left (a conditional GET, 304) — and lists nothing.
 * Requests are counted on the wire, by a relay in front of the real S3-compatible server.
 */
const s3 = useLocalS3([]);
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let work: string;
let root: string;
let bucket: string;
let bucketCount = 0;

beforeAll(async () => {
  proxy = await startRecordingProxy(s3.server.endpointUrl);
});
afterAll(async () => {
  await proxy?.close();
});
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-noop-list-"));
  root = path.join(work, "assets");
  bucket = `skip-${++bucketCount}`;
  await s3.raw.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const name of ["css/app.css", "js/app.js", "img/logo.svg"]) await put(name);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function put(relative: string, content = `content of ${relative}`): Promise<void> {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), content);
}

function context(): TestContext {
  return createTestContext({ aws: { region: "us-east-1", endpointUrl: proxy.endpointUrl } });
}

/** Runs a sync and returns its result with the requests it sent. */
async function sync(options: Partial<SyncAssetsOptions> = {}, ctx = context()) {
  const before = proxy.requests.length;
  const result = await syncAssets({ assetsDir: root, bucket, region: "us-east-1", hashCacheDir: path.join(work, ".lamp"), ...options }, ctx);
  return { result, requests: proxy.requests.slice(before), ctx };
}

const manifestPath = () => `/${bucket}/${manifestKey}`;
const listings = (requests: SeenRequest[]) => requests.filter((request) => request.method === "GET" && request.url.includes("list-type=2"));

describe("a no-op sync-assets after a complete sync by this project", () => {
  it("sends exactly one request, a conditional GET of the manifest answered 304, and lists nothing", async () => {
    const first = await sync();
    expect(first.result).toMatchObject({ uploaded: 3, failed: [] });
    expect(listings(first.requests)).toHaveLength(1);

    const noop = await sync();
    expect(noop.result).toMatchObject({ uploaded: 0, unchanged: 3, deleted: 0, failed: [], changes: [] });
    expect(noop.requests).toEqual([{ method: "GET", url: expect.stringContaining(manifestPath()), ifNoneMatch: expect.stringMatching(/^"[0-9a-f]{32}"$/), status: 304 }]);

    // Again, and as a dry run: still one request each.
    expect((await sync()).requests).toHaveLength(1);
    expect((await sync({ dryRun: true })).requests).toHaveLength(1);
  });

  it("lists and compares when a local file changed, then is back to one request", async () => {
    await sync();
    await put("css/app.css", "body { color: blue }");
    const changed = await sync();
    expect(changed.result.changes).toEqual([expect.objectContaining({ key: "assets/css/app.css", reason: "changed" })]);
    expect(listings(changed.requests)).toHaveLength(1);
    expect((await sync()).requests).toHaveLength(1);
  });

  it("lists when the bucket's manifest is not the one this project's last sync wrote (another checkout synced)", async () => {
    await sync();
    // Another checkout's lamp deleted js/app.js and recorded that in the manifest.
    const other = new S3Client({ region: "us-east-1", endpoint: s3.server.endpointUrl, forcePathStyle: true });
    await other.send(new DeleteObjectCommand({ Bucket: bucket, Key: "assets/js/app.js" }));
    const manifest = JSON.parse(await (await other.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }))).Body!.transformToString()) as { objects: Record<string, unknown> };
    delete manifest.objects["assets/js/app.js"];
    await other.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: JSON.stringify(manifest) }));
    other.destroy();

    const run = await sync();
    expect(run.requests[0]).toMatchObject({ method: "GET", url: expect.stringContaining(manifestPath()), status: 200 });
    expect(listings(run.requests)).toHaveLength(1);
    expect(run.result.changes).toEqual([expect.objectContaining({ key: "assets/js/app.js", reason: "new" })]);
  });

  it("does not see an object deleted by another tool; --full lists the bucket and restores it", async () => {
    await sync();
    await s3.raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: "assets/img/logo.svg" }));
    // The documented limit: only lamp's own writes change the manifest.
    expect((await sync()).result).toMatchObject({ uploaded: 0, unchanged: 3 });

    const full = await sync({ full: true });
    expect(listings(full.requests)).toHaveLength(1);
    expect(full.result.changes).toEqual([expect.objectContaining({ key: "assets/img/logo.svg", reason: "new" })]);
    expect((await sync()).requests).toHaveLength(1);
  });

  it("forgets the last sync before changing the bucket: a run whose manifest could not be written leaves the next one listing", async () => {
    await sync();
    await put("css/app.css", "v2");
    const ctx = context();
    ctx.aws.client(S3Client, { region: "us-east-1" }).middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string; Body?: unknown };
        if (input.Key === manifestKey && input.Body !== undefined) throw Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        return next(args);
      },
      { step: "initialize", name: "denyManifestWrite" },
    );
    expect((await sync({}, ctx)).result).toMatchObject({ uploaded: 1 });
    // Back to the content the last complete sync recorded; the bucket holds v2, its manifest is unchanged.
    await put("css/app.css", "content of css/app.css");
    const run = await sync();
    expect(listings(run.requests)).toHaveLength(1);
    expect(run.result.changes).toEqual([expect.objectContaining({ key: "assets/css/app.css" })]);
    const object = await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: "assets/css/app.css" }));
    expect(await object.Body!.transformToString()).toBe("content of css/app.css");
  });

  it("keeps no record while --no-delete leaves objects the folder no longer has: the next default run lists and deletes them", async () => {
    await sync();
    await rm(path.join(root, "js/app.js"));
    const kept = await sync({ delete: false });
    expect(kept.result).toMatchObject({ deleted: 0 });
    // The bucket still has js/app.js: the next default run must find and delete it.
    const run = await sync();
    expect(listings(run.requests)).toHaveLength(1);
    expect(run.result.changes).toEqual([{ action: "delete", key: "assets/js/app.js" }]);
    expect(await readFile(path.join(work, ".lamp", "assets-last-sync.json"), "utf8")).toContain(`"bucket":"${bucket}"`);
  });
});

describe("lamp sync-assets --full", () => {
  it("lists the bucket from the command line, where the default no-op sends one request", async () => {
    await writeFile(path.join(work, "lamp.json"), JSON.stringify({ stackName: "full", region: "us-east-1" }));
    const run = (extra: string[]) =>
      runLamp(["--endpoint-url", proxy.endpointUrl, "--region", "us-east-1", "--json", "sync-assets", "--bucket", bucket, "--no-invalidate", ...extra], {
        cwd: work,
        env: { ...localS3Credentials, HOME: work },
      });
    expect((await run([])).code).toBe(0);
    await s3.raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: "assets/css/app.css" }));
    let before = proxy.requests.length;
    const noop = await run([]);
    expect(noop.code, noop.stderr).toBe(0);
    expect(proxy.requests.length - before).toBe(1);
    before = proxy.requests.length;
    const full = await run(["--full"]);
    expect(full.code, full.stderr).toBe(0);
    expect(listings(proxy.requests.slice(before))).toHaveLength(1);
    expect(JSON.parse(full.stdout)).toMatchObject({ uploaded: 1, changes: [expect.objectContaining({ key: "assets/css/app.css", reason: "new" })] });
  });
});
