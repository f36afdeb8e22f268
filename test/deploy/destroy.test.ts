import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LampError } from "../../src/core/errors.js";
import type { Prompter } from "../../src/core/prompt.js";
import { destroy } from "../../src/deploy/destroy.js";
import { stackInfo, formatStackInfo } from "../../src/deploy/info.js";
import { createFakeClock, createTestContext, type FakeClock } from "../helpers/context.js";
import { fakeCloudFormation, siteOutputs } from "./fake-cloudformation.js";
import { makeProject, type TestProject } from "./project.js";

const s3 = mockClient(S3Client);
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let project: TestProject;

/** A versioned bucket: two pages of versions and delete markers, as ListObjectVersions returns them. */
function versionedBucket(bucket: string) {
  const objects = new Map<string, string[]>([
    ["assets/style.css", ["v1", "v2", "v3"]],
    ["assets/logo.svg", ["v1"]],
    ["assets/old.js", ["v1", "marker-1"]],
  ]);
  s3.on(ListObjectVersionsCommand, { Bucket: bucket }).callsFake((input) => {
    const all = [...objects.entries()].flatMap(([key, versions]) => versions.map((version) => ({ Key: key, VersionId: version })));
    const start = input.KeyMarker ? all.findIndex((item) => item.Key === input.KeyMarker && item.VersionId === input.VersionIdMarker) + 1 : 0;
    const page = all.slice(start, start + 4);
    const truncated = start + 4 < all.length;
    return {
      Versions: page.filter((item) => !item.VersionId.startsWith("marker")),
      DeleteMarkers: page.filter((item) => item.VersionId.startsWith("marker")),
      IsTruncated: truncated,
      NextKeyMarker: truncated ? page.at(-1)!.Key : undefined,
      NextVersionIdMarker: truncated ? page.at(-1)!.VersionId : undefined,
    };
  });
  s3.on(DeleteObjectsCommand, { Bucket: bucket }).callsFake((input) => {
    for (const { Key, VersionId } of input.Delete.Objects) {
      objects.set(Key, (objects.get(Key) ?? []).filter((version) => version !== VersionId));
      if (objects.get(Key)!.length === 0) objects.delete(Key);
    }
    return { Deleted: input.Delete.Objects };
  });
  return objects;
}

beforeEach(async () => {
  clock = createFakeClock();
  cfn?.mock.restore();
  cfn = fakeCloudFormation(clock, { artifactsBucket: "lamp-artifacts-test" });
  s3.reset();
  project = await makeProject();
});
afterEach(async () => {
  await project.remove();
});
afterAll(() => {
  s3.restore();
  cfn?.mock.restore();
});

const context = (options: { yes?: boolean; prompt?: Prompter; interactive?: boolean } = {}) =>
  createTestContext({ cwd: project.root, aws: {}, clock, yes: options.yes ?? true, prompt: options.prompt, interactive: options.interactive });

describe("lamp destroy", () => {
  it("empties the versioned assets bucket (every version and delete marker) before deleting the stack", async () => {
    const stack = cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    const objects = versionedBucket("shop-assets");
    const ctx = context();
    const result = await destroy({ root: project.root, all: false }, ctx);

    expect(objects.size).toBe(0);
    expect(result).toMatchObject({ status: "deleted", assetObjectsDeleted: 6, artifacts: "kept" });
    // Emptied first, then deleted: CloudFormation cannot delete a bucket that holds anything.
    const lastDelete = Math.max(...s3.calls().map((call, index) => (call.args[0] instanceof DeleteObjectsCommand ? index : -1)));
    expect(lastDelete).toBeGreaterThanOrEqual(0);
    expect(cfn.commandNames()).toContain("DeleteStackCommand");
    expect(stack.status).toBe("DELETE_COMPLETE");
    expect(ctx.ui.texts("success")).toContain("Deleted shop");
    // The artifacts bucket is left alone without --all.
    expect(s3.commandCalls(DeleteBucketCommand)).toHaveLength(0);
  });

  it("asks to type the stack name; a wrong name is not accepted", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    versionedBucket("shop-assets");
    const text = vi.fn(async (options: { validate?: (value: string) => string | undefined }) => {
      expect(options.validate!("shp")).toMatch(/Type shop exactly/);
      expect(options.validate!("shop")).toBeUndefined();
      return "shop";
    });
    const prompt = { text, confirm: vi.fn(), select: vi.fn() } as unknown as Prompter;
    const result = await destroy({ root: project.root, all: false }, context({ yes: false, prompt, interactive: true }));
    expect(text).toHaveBeenCalledOnce();
    expect(result.status).toBe("deleted");
  });

  it("without a terminal and without --yes, deletes nothing and names the flag", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    versionedBucket("shop-assets");
    const error = (await destroy({ root: project.root, all: false }, context({ yes: false })).catch((caught: unknown) => caught)) as LampError;
    expect(error).toBeInstanceOf(LampError);
    expect(error.hint).toContain("--yes");
    expect(s3.calls()).toHaveLength(0);
    expect(cfn.commandNames()).not.toContain("DeleteStackCommand");
  });

  it("says so when there is nothing to delete", async () => {
    const ctx = context();
    const result = await destroy({ root: project.root, all: false }, ctx);
    expect(result.status).toBe("not-found");
    expect(ctx.ui.texts("info")).toContain("Stack shop does not exist in eu-west-1: nothing to delete.");
  });

  it("--all also empties and deletes the artifacts bucket and its bootstrap stack", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    const bootstrap = cfn.addBootstrap();
    versionedBucket("shop-assets");
    const artifacts = versionedBucket("lamp-artifacts-test");
    s3.on(DeleteBucketCommand).resolves({});
    const result = await destroy({ root: project.root, all: true }, context());
    expect(result.artifacts).toBe("deleted");
    expect(artifacts.size).toBe(0);
    expect(s3.commandCalls(DeleteBucketCommand)[0]!.args[0].input.Bucket).toBe("lamp-artifacts-test");
    expect(bootstrap.status).toBe("DELETE_COMPLETE");
  });
});

describe("lamp info", () => {
  it("shows status, last update and outputs", async () => {
    const stack = cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    stack.lastUpdated = new Date(clock.now() - 3 * 3600_000);
    const info = await stackInfo(project.root, context());
    expect(info).toMatchObject({ exists: true, status: "UPDATE_COMPLETE", lastUpdated: stack.lastUpdated.toISOString(), outputs: { siteUrl: "https://d111111abcdef8.cloudfront.net", assetsBucket: "shop-assets" } });
    const lines = formatStackInfo(info, clock.now());
    expect(lines[0]).toBe("Stack      shop (eu-west-1)");
    expect(lines).toContain("Status     UPDATE_COMPLETE");
    expect(lines).toContain(`Updated    ${stack.lastUpdated.toISOString()} (3 h ago)`);
    expect(lines).toContain("URL        https://d111111abcdef8.cloudfront.net");
    expect(lines).toContain("Log group  /aws/lambda/shop-WebFunction-abc");
  });

  it("says clearly when the stack does not exist yet", async () => {
    const info = await stackInfo(project.root, context());
    expect(info).toEqual({ exists: false, stackName: "shop", region: "eu-west-1" });
  });
});

describe("lamp info and lamp destroy, the commands", () => {
  async function lamp(...args: string[]) {
    let stdout = "";
    let stderr = "";
    const stream = (write: (chunk: string) => void) => ({ isTTY: false, write: (chunk: string) => (write(chunk), true) }) as unknown as NodeJS.WriteStream;
    const { runCli } = await import("../../src/cli.js");
    const code = await runCli({
      argv: args,
      cwd: project.root,
      env: { PATH: process.env.PATH, NO_COLOR: "1", CI: "1" },
      stdin: { isTTY: false },
      stdout: stream((chunk) => (stdout += chunk)),
      stderr: stream((chunk) => (stderr += chunk)),
    });
    return { code, stdout, stderr };
  }

  it("lamp info --json prints only the JSON object on stdout", async () => {
    cfn.addStack("shop", "CREATE_COMPLETE", siteOutputs("shop"));
    const result = await lamp("info", "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ exists: true, stackName: "shop", status: "CREATE_COMPLETE", outputs: { functionName: "shop-WebFunction-abc" } });
  });

  it("lamp info before the first deploy says so and how to deploy", async () => {
    const result = await lamp("info");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Stack shop is not deployed in eu-west-1 yet. Run `lamp deploy` to create it.\n");
  });

  it("lamp destroy without a terminal or --yes exits 2 and deletes nothing", async () => {
    cfn.addStack("shop", "CREATE_COMPLETE", siteOutputs("shop"));
    const result = await lamp("destroy");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Pass --yes.");
    expect(cfn.commandNames()).toEqual(["DescribeStacksCommand"]);
  });
});
