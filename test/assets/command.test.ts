import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { LampError } from "../../src/core/errors.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { useLocalS3 } from "./s3-server.js";

/** `lamp sync-assets` as a user runs it (in-process, no terminal), against a real local S3 server. */

const cloudFormation = mockClient(CloudFormationClient);
const cloudFront = mockClient(CloudFrontClient);
let project: string;
let bucket: string;
let bucketCount = 0;

const s3 = useLocalS3([]);
afterAll(() => {
  cloudFormation.restore();
  cloudFront.restore();
});
beforeEach(async () => {
  project = await mkdtemp(path.join(tmpdir(), "lamp-sync-cli-"));
  bucket = `cli-${++bucketCount}`;
  await s3.raw.send(new CreateBucketCommand({ Bucket: bucket }));
  cloudFormation.reset();
  cloudFront.reset();
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "demo",
        StackStatus: "CREATE_COMPLETE",
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: "AssetsBucketName", OutputValue: bucket },
          { OutputKey: "DistributionId", OutputValue: "E3DEMO" },
        ],
      },
    ],
  });
  cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "IDEMO", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } });
});
afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

async function writeProject(assets: Record<string, unknown> = {}): Promise<void> {
  await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "demo", region: "eu-west-1", assets }));
}

async function put(relative: string, content = relative): Promise<void> {
  await mkdir(path.dirname(path.join(project, relative)), { recursive: true });
  await writeFile(path.join(project, relative), content);
}

const lamp = (...args: string[]) => runCliInProcess(["--endpoint-url", s3.server.endpointUrl, ...args], { cwd: project });

async function keys(): Promise<string[]> {
  return ((await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "assets/" }))).Contents ?? []).map((object) => object.Key!).sort();
}

describe("lamp sync-assets", () => {
  it("reads the bucket and distribution from the stack, the folder and cache rules from lamp.json, and prints a JSON summary", async () => {
    await writeProject({ dir: "static", cacheControl: { "fonts/**": "public, max-age=31536000, immutable" }, exclude: ["*.psd"] });
    await put("static/app.css", "a{}");
    await put("static/fonts/inter.woff2");
    await put("static/design.psd");
    await put("static/.env", "SECRET=1");

    const first = await lamp("--json", "sync-assets");
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ bucket, prefix: "assets/", uploaded: 2, unchanged: 0, deleted: 0, skipped: 2, invalidation: null, failed: [] });
    expect(first.stderr).toMatch(new RegExp(`Synced s3://${bucket}/assets/: 2 uploaded`));
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: "demo" });
    expect(await keys()).toEqual(["assets/app.css", "assets/fonts/inter.woff2"]);
    const font = await s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: "assets/fonts/inter.woff2" }));
    expect(font.CacheControl).toBe("public, max-age=31536000, immutable");

    await put("static/app.css", "b{}");
    const second = await lamp("sync-assets");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/1 uploaded \(3 B\), 1 unchanged, 0 deleted, 2 skipped, invalidation IDEMO \(1 path\)/);
    expect(cloudFront.commandCalls(CreateInvalidationCommand)[0]?.args[0].input).toMatchObject({
      DistributionId: "E3DEMO",
      InvalidationBatch: { Paths: { Quantity: 1, Items: ["/assets/app.css"] } },
    });
  });

  it("also syncs the document root's static files (favicon.ico, build/) under document-root/, and --dir syncs only that folder", async () => {
    await writeProject();
    await put("assets/app.css", "a{}");
    await put("public/index.php", "<?php echo 'hi';");
    await put("public/favicon.ico", "ico");
    await put("public/build/app.3f9a1c2e.js", "1");
    await put("public/.htaccess", "x");

    const run = await lamp("--json", "sync-assets");
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, any>;
    expect(summary).toMatchObject({ prefix: "assets/", uploaded: 1 });
    expect(summary.documentRoot).toMatchObject({ prefix: "document-root/", uploaded: 2, skipped: 2, failed: [] });
    const all = ((await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((object) => object.Key!).sort();
    expect(all.filter((key) => !key.startsWith(".lamp/"))).toEqual(["assets/app.css", "document-root/build/app.3f9a1c2e.js", "document-root/favicon.ico"]);

    await put("public/favicon.ico", "new icon");
    const only = await lamp("--json", "sync-assets", "--dir", "assets");
    expect(JSON.parse(only.stdout).documentRoot).toBeUndefined();
  });

  it("works outside a project with --bucket and --dir, and --dry-run uploads nothing", async () => {
    await put("public/x.js");
    const dry = await lamp("--region", "eu-west-1", "sync-assets", "--bucket", bucket, "--dir", "public", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("upload  assets/x.js  (new, 11 B, text/javascript; charset=utf-8");
    expect(dry.stdout).toContain(`Would sync s3://${bucket}/assets/: 1 to upload`);
    expect(await keys()).toEqual([]);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it("fails with exit code 1 naming the file that could not be uploaded, after syncing the rest", async () => {
    await writeProject();
    await put("assets/ok.css");
    await put("assets/denied.css");
    // The CLI's own command, with a context whose S3 client is refused one key at the SDK boundary.
    let ctx: TestContext | undefined;
    const program = buildProgram(async (_command, action) => {
      ctx = createTestContext({ cwd: project, json: true, aws: { endpointUrl: s3.server.endpointUrl } });
      ctx.aws.client(S3Client, { region: "eu-west-1" }).middlewareStack.add(
        (next) => async (args) => {
          if ((args.input as { Key?: string }).Key === "assets/denied.css") {
            throw Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
          }
          return next(args);
        },
        { step: "initialize", name: "denyOneKey" },
      );
      await action(ctx);
    });
    const failure = await program.parseAsync(["sync-assets"], { from: "user" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(LampError);
    expect(failure).toMatchObject({
      exitCode: 1,
      message: "1 of 2 changes failed: denied.css.",
      hint: "Fix the cause and run `lamp sync-assets` again: files already uploaded are not sent again.",
    });
    expect(ctx!.ui.results).toEqual([expect.objectContaining({ uploaded: 1, failed: [expect.objectContaining({ path: "denied.css", error: "AccessDenied: Access Denied" })] })]);
    expect(await keys()).toEqual(["assets/ok.css"]);
  });

  it("with --json, a sync that fails prints one JSON document: the result, with the error in it", async () => {
    await writeProject();
    await put("assets/ok.css");
    await put("assets/denied.css");
    // Refused at the SDK boundary, in the CLI's own run (runCli and its error reporter included).
    const send = S3Client.prototype.send;
    const refuse = vi.spyOn(S3Client.prototype, "send").mockImplementation(function (this: S3Client, command: unknown, ...rest: unknown[]) {
      if ((command as { input?: { Key?: string } }).input?.Key === "assets/denied.css") {
        return Promise.reject(Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
      }
      return (send as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
    } as never);
    try {
      const run = await lamp("--json", "sync-assets");
      expect(run.code).toBe(1);
      const document = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(document).toMatchObject({
        uploaded: 1,
        failed: [expect.objectContaining({ path: "denied.css" })],
        error: { code: "failed", message: "1 of 2 changes failed: denied.css.", hint: expect.any(String) },
      });
      expect(run.stderr).toMatch(/✖ 1 of 2 changes failed: denied\.css\./);
    } finally {
      refuse.mockRestore();
    }
  });

  it("answers bad input with one line and a hint", async () => {
    await writeProject();
    const badConcurrency = await lamp("sync-assets", "--concurrency", "lots");
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toBe('✖ --concurrency must be a whole number from 1 to 256, not "lots".\n  Try --concurrency 16.\n');

    const noFolder = await lamp("sync-assets");
    expect(noFolder.code).toBe(1);
    expect(noFolder.stderr).toMatch(/^✖ The assets folder .*\/assets does not exist\.\n  Create it/);

    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error("Stack with id demo does not exist"), { name: "ValidationError" }));
    await put("assets/a.css");
    const notDeployed = await lamp("sync-assets");
    expect(notDeployed.code).toBe(1);
    expect(notDeployed.stderr).toBe('✖ Stack "demo" does not exist in eu-west-1 yet.\n  Run `lamp deploy` first.\n');
  });

  it("needs lamp.json unless both --bucket and --dir are given", async () => {
    const run = await lamp("sync-assets", "--bucket", bucket);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^✖ No lamp\.json in /);
  });
});
