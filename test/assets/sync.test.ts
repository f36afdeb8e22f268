import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { manifestKey } from "../../src/assets/keys.js";
import { listObjects } from "../../src/assets/remote.js";
import { syncAssets, type SyncAssetsOptions } from "../../src/assets/sync.js";
import { CancelledError } from "../../src/core/errors.js";
import { createFakeClock, createTestContext, type TestContext } from "../helpers/context.js";
import { useLocalS3 } from "./s3-server.js";

const cloudFront = mockClient(CloudFrontClient);
let work: string;
let root: string;
let bucket: string;
let bucketCount = 0;

const s3 = useLocalS3([]);
afterAll(() => {
  cloudFront.restore();
});

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-sync-"));
  root = path.join(work, "assets");
  await mkdir(root);
  bucket = `site-${++bucketCount}`;
  await s3.raw.send(new CreateBucketCommand({ Bucket: bucket }));
  cloudFront.reset();
  cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I2J3EXAMPLE", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function put(relative: string, content: string | Buffer = `content of ${relative}`): Promise<void> {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), content);
}

function context(extra: Parameters<typeof createTestContext>[0] = {}): TestContext {
  return createTestContext({ aws: { region: "us-east-1", endpointUrl: s3.server.endpointUrl }, ...extra });
}

function sync(ctx: TestContext, options: Partial<SyncAssetsOptions> = {}) {
  return syncAssets({ assetsDir: root, bucket, region: "us-east-1", distributionId: "E2EXAMPLE", ...options }, ctx);
}

async function keys(): Promise<string[]> {
  const page = await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

async function body(key: string): Promise<string> {
  const object = await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

function invalidatedPaths(): string[][] {
  return cloudFront.commandCalls(CreateInvalidationCommand).map((call) => call.args[0].input.InvalidationBatch?.Paths?.Items ?? []);
}

describe("syncAssets against a local S3 server", () => {
  it("uploads every public file under assets/ with the right Content-Type and Cache-Control, and nothing secret", async () => {
    await put("css/app.css", "body{color:red}");
    await put("js/app.3f9a1c2e.js", "export {}");
    await put("js/module.mjs");
    await put("engine.wasm", Buffer.from([0, 0x61, 0x73, 0x6d]));
    await put("site.webmanifest", "{}");
    await put("fonts/inter.woff2");
    await put("img/logo.svg", "<svg/>");
    await put("ä ö/a+b#c?.js", "unicode");
    await put(".env", "SECRET=1");
    await put(".git/config");
    await put("img/.DS_Store");
    await writeFile(path.join(work, "secret.txt"), "password");
    await symlink(path.join(work, "secret.txt"), path.join(root, "leak.txt"));

    const ctx = context({ verbose: true });
    const result = await sync(ctx);

    expect(await keys()).toEqual([
      manifestKey,
      "assets/css/app.css",
      "assets/engine.wasm",
      "assets/fonts/inter.woff2",
      "assets/img/logo.svg",
      "assets/js/app.3f9a1c2e.js",
      "assets/js/module.mjs",
      "assets/site.webmanifest",
      "assets/ä ö/a+b#c?.js",
    ]);
    expect(result).toMatchObject({ uploaded: 8, unchanged: 0, deleted: 0, skipped: 4, failed: [], invalidation: null });
    expect(result.bytes).toBe(15 + 9 + Buffer.byteLength("content of js/module.mjs") + 4 + 2 + Buffer.byteLength("content of fonts/inter.woff2") + 6 + 7);
    expect(await body("assets/ä ö/a+b#c?.js")).toBe("unicode");

    const expected: Record<string, [string, string]> = {
      "assets/css/app.css": ["text/css; charset=utf-8", "public, max-age=300, must-revalidate"],
      "assets/js/app.3f9a1c2e.js": ["text/javascript; charset=utf-8", "public, max-age=31536000, immutable"],
      "assets/js/module.mjs": ["text/javascript; charset=utf-8", "public, max-age=300, must-revalidate"],
      "assets/engine.wasm": ["application/wasm", "public, max-age=300, must-revalidate"],
      "assets/site.webmanifest": ["application/manifest+json; charset=utf-8", "public, max-age=300, must-revalidate"],
      "assets/fonts/inter.woff2": ["font/woff2", "public, max-age=300, must-revalidate"],
      "assets/img/logo.svg": ["image/svg+xml; charset=utf-8", "public, max-age=300, must-revalidate"],
    };
    for (const [key, [type, cache]] of Object.entries(expected)) {
      const head = await s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect([key, head.ContentType, head.CacheControl]).toEqual([key, type, cache]);
    }
    // New keys were never cached by CloudFront: nothing to invalidate.
    expect(invalidatedPaths()).toEqual([]);
    // --verbose says what was skipped and why.
    expect(ctx.ui.texts("debug")).toEqual(expect.arrayContaining(["skip    .env  (dotfile)", "skip    leak.txt  (symlink-outside)"]));
    expect(ctx.ui.texts("success")[0]).toMatch(/^Synced s3:\/\/site-\d+\/assets\/: 8 uploaded/);
  });

  it("re-syncs with zero uploads, with or without its manifest", async () => {
    await put("a.css");
    await put("b/c.js");
    expect((await sync(context())).uploaded).toBe(2);

    const again = await sync(context());
    expect(again).toMatchObject({ uploaded: 0, unchanged: 2, deleted: 0, bytes: 0, invalidation: null, changes: [] });

    // Without lamp's record the objects' own metadata (read by HEAD) proves them unchanged.
    await s3.raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey }));
    const ctx = context({ verbose: true });
    expect(await sync(ctx)).toMatchObject({ uploaded: 0, unchanged: 2 });
    expect(ctx.ui.texts("debug")).toContain("Reading the metadata of 2 object(s) lamp has no record of.");
    expect(await keys()).toContain(manifestKey);
    expect(invalidatedPaths()).toEqual([]);
  });

  it("uploads one changed file, deletes one removed file after the uploads, and invalidates exactly those paths", async () => {
    await put("keep.css");
    await put("ä ö/a+b#c?.js", "v1");
    await put("old.css");
    await sync(context());

    await put("ä ö/a+b#c?.js", "v2");
    await put("new.css");
    await unlink(path.join(root, "old.css"));
    const result = await sync(context());

    expect(result).toMatchObject({ uploaded: 2, unchanged: 1, deleted: 1 });
    expect(result.changes).toEqual([
      expect.objectContaining({ action: "upload", key: "assets/new.css", reason: "new" }),
      expect.objectContaining({ action: "upload", key: "assets/ä ö/a+b#c?.js", reason: "changed" }),
      { action: "delete", key: "assets/old.css" },
    ]);
    expect(await keys()).toEqual([manifestKey, "assets/keep.css", "assets/new.css", "assets/ä ö/a+b#c?.js"]);
    expect(await body("assets/ä ö/a+b#c?.js")).toBe("v2");
    expect(invalidatedPaths()).toEqual([["/assets/%C3%A4%20%C3%B6/a+b%23c%3F.js", "/assets/old.css"]]);
    expect(result.invalidation).toEqual({ id: "I2J3EXAMPLE", paths: ["/assets/%C3%A4%20%C3%B6/a+b%23c%3F.js", "/assets/old.css"], objects: 2, status: "created" });
    const reference = cloudFront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input;
    expect(reference.DistributionId).toBe("E2EXAMPLE");
    expect(reference.InvalidationBatch?.CallerReference).toMatch(/^lamp-sync-assets-\d+-[0-9a-f-]{36}$/);
  });

  it("keeps removed files with --no-delete, and re-uploads everything with --force", async () => {
    await put("a.css");
    await put("b.css");
    await sync(context());
    await unlink(path.join(root, "b.css"));
    expect(await sync(context(), { delete: false })).toMatchObject({ uploaded: 0, deleted: 0 });
    expect(await keys()).toContain("assets/b.css");
    const forced = await sync(context(), { delete: false, force: true });
    expect(forced).toMatchObject({ uploaded: 1, deleted: 0 });
    expect(forced.changes[0]).toMatchObject({ key: "assets/a.css", reason: "forced" });
  });

  it("re-uploads a file whose cache policy changed, without a content change", async () => {
    await put("fonts/a.woff2");
    await sync(context());
    const result = await sync(context(), { cacheControl: { "fonts/**": "public, max-age=31536000, immutable" } });
    expect(result.changes).toEqual([expect.objectContaining({ key: "assets/fonts/a.woff2", reason: "metadata" })]);
    const head = await s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: "assets/fonts/a.woff2" }));
    expect(head.CacheControl).toBe("public, max-age=31536000, immutable");
    expect(invalidatedPaths()).toEqual([["/assets/fonts/a.woff2"]]);
  });

  it("uploads a file over the multipart threshold in parts, streamed, once", async () => {
    const large = Buffer.alloc(9 * 1024 * 1024 + 3);
    for (let i = 0; i < large.length; i += 4096) large[i] = i & 0xff;
    await put("video/intro.mp4", large);
    const ctx = context();
    const commands: string[] = [];
    ctx.aws.client(S3Client, { region: "us-east-1" }).middlewareStack.add(
      (next, handlerContext) => async (args) => {
        commands.push(handlerContext.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordCommands" },
    );
    expect(await sync(ctx)).toMatchObject({ uploaded: 1, bytes: large.length });
    expect(commands.filter((name) => /Multipart|UploadPart|PutObject/.test(name))).toEqual([
      "CreateMultipartUploadCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "CompleteMultipartUploadCommand",
      // lamp's manifest
      "PutObjectCommand",
    ]);
    const head = await s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: "assets/video/intro.mp4" }));
    expect(head.ContentType).toBe("video/mp4");
    expect(head.ContentLength).toBe(large.length);
    expect(head.Metadata?.["lamp-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(await (await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: "assets/video/intro.mp4" }))).Body!.transformToByteArray()).equals(large)).toBe(true);
    expect(await sync(context())).toMatchObject({ uploaded: 0, unchanged: 1 });
    await s3.raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey }));
    expect(await sync(context())).toMatchObject({ uploaded: 0, unchanged: 1 });
  });

  it("sends one /assets/* when more paths changed than the threshold", async () => {
    for (const name of ["a", "b", "c"]) await put(`${name}.css`, "v1");
    await sync(context());
    for (const name of ["a", "b", "c"]) await put(`${name}.css`, "v2");
    const result = await sync(context(), { invalidationThreshold: 2 });
    expect(invalidatedPaths()).toEqual([["/assets/*"]]);
    expect(result.invalidation).toMatchObject({ paths: ["/assets/*"], objects: 3 });
  });

  it("sends no invalidation with --no-invalidate or without a distribution", async () => {
    await put("a.css", "v1");
    await sync(context());
    await put("a.css", "v2");
    expect((await sync(context(), { invalidate: false })).invalidation).toBeNull();
    await put("a.css", "v3");
    const ctx = context();
    expect((await sync(ctx, { distributionId: undefined })).invalidation).toBeNull();
    expect(ctx.ui.texts("warn")[0]).toMatch(/No CloudFront distribution/);
    expect(invalidatedPaths()).toEqual([]);
  });

  it("waits for the invalidation to complete with --wait, polling on the context's clock", async () => {
    await put("a.css", "v1");
    await sync(context());
    await put("a.css", "v2");
    cloudFront
      .on(GetInvalidationCommand)
      .resolvesOnce({ Invalidation: { Id: "I2J3EXAMPLE", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } })
      .resolves({ Invalidation: { Id: "I2J3EXAMPLE", Status: "Completed", CreateTime: new Date(), InvalidationBatch: undefined } });
    const clock = createFakeClock();
    const result = await sync(context({ clock }), { wait: true });
    expect(result.invalidation?.status).toBe("completed");
    expect(cloudFront.commandCalls(GetInvalidationCommand)).toHaveLength(2);
    expect(clock.sleeps).toEqual([5000]);
  });

  it("prints the plan and changes nothing with --dry-run", async () => {
    await put("a.css", "v1");
    await put("gone.css");
    await sync(context());
    await put("a.css", "v2");
    await put("b.css");
    await unlink(path.join(root, "gone.css"));
    const before = await keys();
    const ctx = context();
    const result = await sync(ctx, { dryRun: true });
    expect(result).toMatchObject({ dryRun: true, uploaded: 2, deleted: 1, invalidation: { status: "planned", paths: ["/assets/a.css", "/assets/gone.css"] } });
    expect(ctx.ui.texts("out")).toEqual([
      "upload  assets/a.css  (changed, 2 B, text/css; charset=utf-8, public, max-age=300, must-revalidate)",
      `upload  assets/b.css  (new, ${Buffer.byteLength("content of b.css")} B, text/css; charset=utf-8, public, max-age=300, must-revalidate)`,
      "delete  assets/gone.css",
      "invalidate  /assets/a.css",
      "invalidate  /assets/gone.css",
    ]);
    expect(await keys()).toEqual(before);
    expect(await body("assets/a.css")).toBe("v1");
    expect(invalidatedPaths()).toEqual([]);
  });

  it("reports the files that failed, deletes nothing, and a re-run converges", async () => {
    await put("a.css");
    await put("old.css");
    await sync(context());
    await unlink(path.join(root, "old.css"));
    await put("a.css", "a2");
    await put("b.css");
    await put("c.css");

    const ctx = context();
    // Access denied on one key, at the SDK boundary; every other request reaches the real server.
    ctx.aws.client(S3Client, { region: "us-east-1" }).middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string };
        if (input.Key === "assets/b.css") throw Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        return next(args);
      },
      { step: "initialize", name: "denyOneKey" },
    );
    const failed = await sync(ctx);
    expect(failed.failed).toEqual([{ path: "b.css", key: "assets/b.css", operation: "upload", error: "AccessDenied: Access Denied" }]);
    expect(failed).toMatchObject({ uploaded: 2, deleted: 0 });
    expect(ctx.ui.texts("warn")).toEqual(expect.arrayContaining([expect.stringMatching(/Could not upload b\.css: AccessDenied/), expect.stringMatching(/Not deleting 1 old object/)]));
    expect(await keys()).toContain("assets/old.css");
    // What did change is still invalidated: a re-run would see it as unchanged.
    expect(invalidatedPaths()).toEqual([["/assets/a.css"]]);

    const rerun = await sync(context());
    expect(rerun).toMatchObject({ uploaded: 1, deleted: 1, failed: [] });
    expect(rerun.changes.map((change) => change.key)).toEqual(["assets/b.css", "assets/old.css"]);
    expect(await keys()).toEqual([manifestKey, "assets/a.css", "assets/b.css", "assets/c.css"]);
  });

  it("sends a failed invalidation again on the next run", async () => {
    await put("a.css", "v1");
    await sync(context());
    await put("a.css", "v2");
    cloudFront.on(CreateInvalidationCommand).rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "TooManyInvalidationsInProgress" }));
    const first = await sync(context());
    expect(first.invalidation).toMatchObject({ status: "failed", paths: ["/assets/a.css"], error: "TooManyInvalidationsInProgress: Rate exceeded" });

    cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I2", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } });
    const second = await sync(context());
    expect(second).toMatchObject({ uploaded: 0, invalidation: { id: "I2", paths: ["/assets/a.css"], status: "created" } });
    const third = await sync(context());
    expect(third.invalidation).toBeNull();
  });

  it("stops on Ctrl-C with a CancelledError, and a re-run finishes the job", async () => {
    for (let i = 0; i < 20; i += 1) await put(`f${String(i).padStart(2, "0")}.css`);
    const ctx = context();
    let puts = 0;
    ctx.aws.client(S3Client, { region: "us-east-1" }).middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { Key?: string }).Key?.startsWith("assets/") && ++puts === 3) ctx.controller.abort(new CancelledError("Interrupted."));
        return next(args);
      },
      { step: "initialize", name: "interrupt" },
    );
    await expect(sync(ctx, { concurrency: 2 })).rejects.toBeInstanceOf(CancelledError);
    expect((await keys()).filter((key) => key.startsWith("assets/")).length).toBeLessThan(20);
    expect(await sync(context())).toMatchObject({ uploaded: expect.any(Number), failed: [] });
    expect((await keys()).filter((key) => key.startsWith("assets/"))).toHaveLength(20);
  });

  it("draws a progress bar of files and bytes on a terminal, and prints no plan lines on stdout with --json", async () => {
    await put("a.css", "12345");
    await put("b.css", "123");
    const ctx = context({ interactive: true });
    await sync(ctx);
    expect(ctx.ui.texts("progress")).toEqual(["[--------------------] 0/2 files · 0 B/8 B"]);
    expect(ctx.ui.texts("progress-update").at(-1)).toBe("[####################] 2/2 files · 8 B/8 B");
    expect(ctx.ui.texts("progress-done")).toEqual(["Uploaded 2 of 2 files (8 B)."]);

    await put("c.css");
    const json = context({ json: true });
    const result = await sync(json, { dryRun: true });
    expect(json.ui.texts("out")).toEqual([]);
    expect(json.ui.texts("info")).toContain(`upload  assets/c.css  (new, ${Buffer.byteLength("content of c.css")} B, text/css; charset=utf-8, public, max-age=300, must-revalidate)`);
    expect(result.changes).toHaveLength(1);
  });

  it("still syncs when its record in .lamp/ is off limits (credentials scoped to assets/*)", async () => {
    await put("a.css", "v1");
    const denyManifest = (ctx: TestContext) =>
      ctx.aws.client(S3Client, { region: "us-east-1" }).middlewareStack.add(
        (next) => async (args) => {
          if ((args.input as { Key?: string }).Key === manifestKey) {
            throw Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
          }
          return next(args);
        },
        { step: "initialize", name: "denyManifest" },
      );
    const first = context();
    denyManifest(first);
    expect(await sync(first)).toMatchObject({ uploaded: 1, failed: [] });
    expect(first.ui.texts("warn")).toEqual([expect.stringContaining("Could not record the sync in s3://")]);
    expect(await keys()).toEqual(["assets/a.css"]);

    const second = context();
    denyManifest(second);
    expect(await sync(second)).toMatchObject({ uploaded: 0, unchanged: 1 });
  });

  it("refuses to empty assets/ from an empty folder unless forced", async () => {
    await put("a.css");
    await put("b.css");
    await sync(context());
    await rm(root, { recursive: true });
    await mkdir(root);
    await expect(sync(context())).rejects.toMatchObject({
      code: "usage",
      message: `${root} has no files to upload; syncing it would delete all 2 objects under s3://${bucket}/assets/.`,
    });
    expect(await keys()).toContain("assets/a.css");
    expect(await sync(context(), { delete: false })).toMatchObject({ deleted: 0 });
    expect(await sync(context(), { force: true })).toMatchObject({ deleted: 2 });
    expect(await keys()).toEqual([manifestKey]);
  });

  it("lists every object across pages", async () => {
    for (const name of ["a", "b", "c", "d", "e"]) await put(`${name}.css`);
    await sync(context());
    const s3 = context().aws.client(S3Client, { region: "us-east-1" });
    const listed = await listObjects(s3, bucket, "assets/", undefined, 2);
    expect(listed.map((object) => object.key)).toEqual(["assets/a.css", "assets/b.css", "assets/c.css", "assets/d.css", "assets/e.css"]);
    expect(listed[0]).toEqual({ key: "assets/a.css", size: Buffer.byteLength("content of a.css"), etag: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it("says which bucket does not exist", async () => {
    await put("a.css");
    await expect(sync(context(), { bucket: "no-such-bucket" })).rejects.toMatchObject({ code: "not-found", message: 'The bucket "no-such-bucket" does not exist.' });
  });
});
