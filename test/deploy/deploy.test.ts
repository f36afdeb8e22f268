import { copyFile, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { CancelledError, LampError } from "../../src/core/errors.js";
import { systemClock } from "../../src/core/clock.js";
import { deploy, type DeployResult } from "../../src/deploy/deploy.js";
import type { Prompter } from "../../src/core/prompt.js";
import { createTestContext, type FakeClock, type TestContext } from "../helpers/context.js";
import { fakeCloudFormation, siteOutputs } from "./fake-cloudformation.js";
import { makeProject, type TestProject } from "./project.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { startFakeLambda, type FakeLambda } from "../console/fake-lambda.js";
import { deployStandIns } from "./stand-ins.js";

const artifactsBucket = "lamp-artifacts-test";
const assetsBucket = "shop-assets";
const aws = deployStandIns({ artifactsBucket, buckets: [assetsBucket] });
const { sts, cloudFront, s3 } = aws;
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let project: TestProject;

beforeEach(async () => {
  ({ clock, cfn } = aws);
  project = await makeProject();
});
afterEach(async () => {
  await project.remove();
});

function context(options: { yes?: boolean; prompt?: Prompter; interactive?: boolean } = {}): TestContext {
  return createTestContext({ cwd: project.root, aws: { endpointUrl: s3.server.endpointUrl }, clock, yes: options.yes ?? true, prompt: options.prompt, interactive: options.interactive });
}

const run = (ctx: TestContext, options: { assets?: boolean; force?: boolean } = {}) =>
  deploy({ root: project.root, assets: options.assets ?? true, force: options.force ?? false }, ctx);

function sentTemplate(index = -1): Record<string, any> {
  const input = cfn.created.at(index)!;
  return JSON.parse(input.TemplateBody!) as Record<string, any>;
}

async function objectExists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

function expectStatus<S extends DeployResult["status"]>(result: DeployResult, status: S): asserts result is Extract<DeployResult, { status: S }> {
  expect(result.status).toBe(status);
}

describe("lamp deploy: first deploy", () => {
  it("creates the artifacts bucket, uploads the code under its hash, creates the stack and syncs the assets", async () => {
    await writeFile(path.join(project.root, "lamp.json"), JSON.stringify({ ...JSON.parse(await readFile(path.join(project.root, "lamp.json"), "utf8")), environment: { APP_ENV: "production" } }));
    const ctx = context();
    const result = await run(ctx);

    expectStatus(result, "deployed");
    expect(result.operation).toBe("create");
    expect(result.outputs.siteUrl).toBe("https://d111111abcdef8.cloudfront.net");
    expect(ctx.ui.texts().join("\n")).toContain(`Created the artifacts bucket ${artifactsBucket}`);

    // The code package is in the bucket, under its own hash, byte for byte what was zipped.
    expect(result.package.key).toBe(`code/${result.package.sha256}.zip`);
    const object = await s3.raw.send(new GetObjectCommand({ Bucket: artifactsBucket, Key: result.package.key }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.length).toBe(result.package.bytes);
    expect(bytes.subarray(0, 4).toString("hex")).toBe("504b0304");

    const input = cfn.created[0]!;
    expect(input.ChangeSetType).toBe("CREATE");
    expect(input.Capabilities).toEqual(expect.arrayContaining(["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]));
    const template = sentTemplate();
    const web = template.Resources.WebFunction.Properties;
    expect(web.CodeUri).toEqual({ Bucket: artifactsBucket, Key: result.package.key });
    expect(web.Environment.Variables).toEqual({
      BREF_RUNTIME: "fpm",
      APP_ENV: "production",
      BREF_BINARY_RESPONSES: "1",
      LAMP_ORIGIN_TOKEN: { "Fn::Join": [",", [{ Ref: "LampOriginTokenA" }, { Ref: "LampOriginTokenB" }]] },
    });
    // A new stack: both origin-token slots random, CloudFront on slot A; the values are in no line lamp printed.
    const parameters = Object.fromEntries((input.Parameters ?? []).map((parameter) => [parameter.ParameterKey, parameter.ParameterValue]));
    expect(parameters.LampOriginSlot).toBe("A");
    expect(parameters.LampOriginTokenA).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(parameters.LampOriginTokenB).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(parameters.LampOriginTokenA).not.toBe(parameters.LampOriginTokenB);
    expect(JSON.stringify(ctx.ui.texts())).not.toContain(parameters.LampOriginTokenA);
    // Short-form tags arrive in long form.
    expect(template.Resources.AssetsBucketPolicy.Properties.Bucket).toEqual({ Ref: "AssetsBucket" });

    // Assets went to the stack's bucket, and the URL is in the result.
    expect(result.assets?.uploaded).toBe(2);
    expect(await objectExists(assetsBucket, "assets/style.css")).toBe(true);
    expect(cfn.commandNames()).not.toContain("DeleteChangeSetCommand");
  });

  it("follows the events as a compact view: one line per finished resource, not every event", async () => {
    cfn.nextExecution({
      resources: [
        { id: "WebFunction", type: "AWS::Lambda::Function", status: "COMPLETE" },
        { id: "HttpApi", type: "AWS::ApiGatewayV2::Api", status: "COMPLETE" },
        { id: "Distribution", type: "AWS::CloudFront::Distribution", status: "COMPLETE" },
      ],
    });
    const ctx = context();
    await run(ctx, { assets: false });
    const finished = ctx.ui.texts("info").filter((line) => line.includes("CREATE_COMPLETE"));
    expect(finished.map((line) => line.trim().split(/\s+/)[1])).toEqual(["WebFunction", "HttpApi", "Distribution"]);
    // The spinner says what is still running while the stack is in progress.
    expect(ctx.ui.texts("progress-update").some((line) => /in progress: \w+ \d+s/.test(line))).toBe(true);
    // It polled with the injected clock, not real time.
    expect(clock.sleeps.length).toBeGreaterThan(2);
  });
});

describe("lamp deploy: updates", () => {
  beforeEach(() => {
    cfn.addBootstrap();
  });

  it("updates an existing stack through an UPDATE change set and prints the summary", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), { OutputKey: "LampFingerprint", OutputValue: "an-older-deploy" }]);
    cfn.nextChangeSet({
      changes: [{ Type: "Resource", ResourceChange: { Action: "Modify", LogicalResourceId: "WebFunction", ResourceType: "AWS::Lambda::Function", Replacement: "False" } }],
    });
    const ctx = context();
    const result = await run(ctx, { assets: false });
    expectStatus(result, "deployed");
    expect(result.operation).toBe("update");
    expect(cfn.created[0]!.ChangeSetType).toBe("UPDATE");
    expect(ctx.ui.texts()).toContain("  ~ WebFunction AWS::Lambda::Function");
    expect(ctx.ui.texts().join("\n")).toMatch(/Updated shop in .* \(0 to add, 1 to modify, 0 to remove\)/);
    // The bootstrap stack already existed: not created again.
    expect(cfn.commandNames()).not.toContain("CreateStackCommand");
  });

  it.each([
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed.",
  ])("treats an empty change set as success and deletes it: %s", async (reason) => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), { OutputKey: "LampFingerprint", OutputValue: "made-by-another-version" }]);
    cfn.nextChangeSet({ failReason: reason });
    const ctx = context();
    const result = await run(ctx, { assets: false });
    expectStatus(result, "no-changes");
    expect(result.detectedBy).toBe("change-set");
    expect(cfn.commandNames()).toContain("DeleteChangeSetCommand");
    expect(cfn.commandNames()).not.toContain("ExecuteChangeSetCommand");
    expect(cfn.liveChangeSets()).toEqual([]);
  });

  it("skips CloudFormation entirely when code and template are unchanged: no change set, no upload", async () => {
    const first = await run(context(), { assets: false });
    expectStatus(first, "deployed");
    cfn.mock.resetHistory();
    sts.resetHistory();

    const ctx = context();
    const second = await run(ctx, { assets: false });
    expectStatus(second, "no-changes");
    expect(second.detectedBy).toBe("fingerprint");
    expect(second.package.sha256).toBe(first.package.sha256);
    // One read of the stack is the only CloudFormation call; nothing is created, uploaded or executed.
    expect(cfn.commandNames()).toEqual(["DescribeStacksCommand"]);
    expect(sts.calls().length + cfn.mock.calls().length).toBeLessThanOrEqual(5);
    expect(ctx.ui.texts().join("\n")).toContain("No changes: shop already runs this code and template");
  });

  it("deploys again after a code change, and --force deploys even without one", async () => {
    await run(context(), { assets: false });
    await writeFile(path.join(project.root, "public", "index.php"), "<?php echo 'v2';\n");
    const changed = await run(context(), { assets: false });
    expectStatus(changed, "deployed");

    cfn.mock.resetHistory();
    const forced = await run(context(), { assets: false, force: true });
    expectStatus(forced, "deployed");
    expect(cfn.commandNames()).toContain("CreateChangeSetCommand");
  });

  it("reports a failed deploy with the root causes, not the cancellations that follow", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop")]);
    cfn.nextExecution({
      resources: [
        { id: "WebFunction", type: "AWS::Lambda::Function", status: "FAILED", reason: "Resource handler returned message: \"Layer version arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-84:9 does not exist.\"" },
        { id: "Distribution", type: "AWS::CloudFront::Distribution", status: "FAILED", reason: "Resource update cancelled" },
      ],
      stackReason: "The following resource(s) failed to update: [WebFunction].",
    });
    const ctx = context();
    const result = await run(ctx, { assets: false });
    expectStatus(result, "failed");
    expect(result.stage).toBe("execute");
    expect(result.stackStatus).toBe("UPDATE_ROLLBACK_COMPLETE");
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toMatch(/^WebFunction \(AWS::Lambda::Function\): .*does not exist/);
    expect(result.reasons.join()).not.toMatch(/cancelled/);
    // The live view showed the failure as it happened.
    expect(ctx.ui.texts("warn").some((line) => line.startsWith("WebFunction UPDATE_FAILED"))).toBe(true);
  });

  it("removes a stack left in ROLLBACK_COMPLETE by a failed first deploy, then creates it", async () => {
    const broken = cfn.addStack("shop", "ROLLBACK_COMPLETE");
    const ctx = context();
    const result = await run(ctx, { assets: false });
    expectStatus(result, "deployed");
    expect(result.operation).toBe("create");
    expect(ctx.ui.texts("warn").join("\n")).toMatch(/ROLLBACK_COMPLETE.*Deleting it so this deploy can create it again/);
    const names = cfn.commandNames();
    expect(names.indexOf("DeleteStackCommand")).toBeLessThan(names.indexOf("CreateChangeSetCommand"));
    expect(broken.status).toBe("DELETE_COMPLETE");
    expect(cfn.created[0]!.ChangeSetType).toBe("CREATE");
  });

  it("refuses to deploy while the stack is busy", async () => {
    cfn.addStack("shop", "UPDATE_IN_PROGRESS");
    await expect(run(context(), { assets: false })).rejects.toThrow(/shop is busy \(UPDATE_IN_PROGRESS\)/);
    expect(cfn.created).toHaveLength(0);
  });
});

describe("lamp deploy: destructive changes", () => {
  const replaceBucket = {
    // The replacement comes on the change set's second page (the fake gives one change per page):
    // a deploy that read only the first page would replace the bucket without asking.
    changes: [
      { Type: "Resource" as const, ResourceChange: { Action: "Modify" as const, LogicalResourceId: "WebFunction", ResourceType: "AWS::Lambda::Function", Replacement: "False" as const } },
      { Type: "Resource" as const, ResourceChange: { Action: "Modify" as const, LogicalResourceId: "AssetsBucket", ResourceType: "AWS::S3::Bucket", Replacement: "True" as const } },
    ],
  };
  beforeEach(() => {
    cfn.addBootstrap();
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    cfn.nextChangeSet(replaceBucket);
  });

  it("asks before replacing the bucket; declining deletes the change set and changes nothing", async () => {
    const confirm = vi.fn(async () => false);
    const prompt: Prompter = { confirm, text: vi.fn(), select: vi.fn() } as unknown as Prompter;
    const ctx = context({ yes: false, prompt, interactive: true });
    await expect(run(ctx, { assets: false })).rejects.toBeInstanceOf(CancelledError);
    expect(confirm).toHaveBeenCalledOnce();
    expect(ctx.ui.texts("warn").join("\n")).toContain("AssetsBucket (AWS::S3::Bucket) replaced");
    expect(ctx.ui.texts()).toContain("  ~ AssetsBucket AWS::S3::Bucket (replaced)  DATA LOSS");
    expect(cfn.commandNames()).toContain("DeleteChangeSetCommand");
    expect(cfn.commandNames()).not.toContain("ExecuteChangeSetCommand");
    expect(cfn.liveChangeSets()).toEqual([]);
  });

  it("without a terminal and without --yes, refuses and names the flag", async () => {
    const ctx = context({ yes: false });
    const error = (await run(ctx, { assets: false }).catch((caught: unknown) => caught)) as LampError;
    expect(error.message).toContain("it would delete data (AssetsBucket (AWS::S3::Bucket) replaced)");
    expect(error.hint).toContain("--yes");
    expect(cfn.commandNames()).not.toContain("ExecuteChangeSetCommand");
    expect(cfn.liveChangeSets()).toEqual([]);
  });

  it("with --yes, goes ahead", async () => {
    const result = await run(context({ yes: true }), { assets: false });
    expect(result.status).toBe("deployed");
  });
});

describe("lamp deploy: Ctrl-C", () => {
  it("while the change set is being computed: deletes it (and the empty new stack) and stops", async () => {
    cfn.addBootstrap();
    cfn.nextChangeSet({ pendingPolls: 10 });
    const ctx = context();
    const sleep = clock.sleep;
    let sleeps = 0;
    ctx.clock = {
      ...clock,
      sleep: async (ms, signal) => {
        // The second poll of the change set: the user presses Ctrl-C.
        if (++sleeps === 2) ctx.controller.abort(new CancelledError("Interrupted."));
        return sleep(ms, signal);
      },
    };
    const error = await run(ctx, { assets: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toMatch(/change set was deleted/);
    expect(cfn.commandNames()).toContain("DeleteChangeSetCommand");
    expect(cfn.commandNames()).not.toContain("ExecuteChangeSetCommand");
    expect(cfn.liveChangeSets()).toEqual([]);
    expect(cfn.find("shop")?.status).toBe("DELETE_COMPLETE");
  });

  it("while the stack deploys: says CloudFormation continues and how to cancel", async () => {
    cfn.addBootstrap();
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop"));
    const ctx = context();
    const sleep = clock.sleep;
    ctx.clock = {
      ...clock,
      sleep: async (ms, signal) => {
        if (cfn.commandNames().includes("ExecuteChangeSetCommand")) ctx.controller.abort(new CancelledError("Interrupted."));
        return sleep(ms, signal);
      },
    };
    const error = (await run(ctx, { assets: false }).catch((caught: unknown) => caught)) as LampError;
    expect(error).toBeInstanceOf(LampError);
    expect(error.code).toBe("cancelled");
    expect(error.message).toMatch(/CloudFormation continues/);
    expect(error.hint).toContain("aws cloudformation cancel-update-stack --stack-name shop --region eu-west-1");
  });
});

describe("lamp deploy: preflight stops before anything is created", () => {
  it("missing credentials: names what was tried", async () => {
    sts.reset();
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }));
    const error = (await run(context()).catch((caught: unknown) => caught)) as LampError;
    expect(error.code).toBe("credentials");
    expect(error.message).toMatch(/No AWS credentials found \(tried .*AWS_PROFILE/);
    expect(cfn.mock.calls()).toHaveLength(0);
  });

  it("missing vendor/: says to run composer install, calls no AWS API", async () => {
    await project.remove();
    project = await makeProject({ vendor: false });
    const error = (await run(context()).catch((caught: unknown) => caught)) as LampError;
    expect(error.code).toBe("dependency");
    expect(error.message).toContain("vendor/autoload.php is missing");
    expect(error.hint).toContain("composer install --no-dev");
    expect(sts.calls()).toHaveLength(0);
    expect(cfn.mock.calls()).toHaveLength(0);
  });

  it.each([
    ["an empty vendor/bref/bref folder", async (bref: string) => {
      await rm(bref, { recursive: true });
      await mkdir(bref);
    }, /vendor\/bref\/bref is not a complete Bref install \(vendor\/bref\/bref\/src\/FpmRuntime\/Main\.php, vendor\/bref\/bref\/src\/FpmRuntime\/FpmHandler\.php missing\)/, /composer install --no-dev/],
    ["a vendor/ Composer did not make (bref/bref not in installed.json)", async () => {
      await rm(path.join(project.root, "vendor", "composer", "installed.json"));
    }, /installed\.json does not list bref\/bref/, /composer install --no-dev/],
    ["Bref 2 without its layers.json, where lamp's table is Bref 3's", async () => {
      await writeFile(path.join(project.root, "vendor", "composer", "installed.json"), JSON.stringify({ packages: [{ name: "bref/bref", version: "2.3.1" }] }));
    }, /bref\/bref 2\.3\.1 is installed without its layers\.json, and lamp's own layer table is for Bref 3\.0\.9/, /composer require bref\/bref:\^3/],
  ] as const)("%s: refused before any AWS call, saying what to run", async (_name, breakIt, message, hint) => {
    await breakIt(path.join(project.root, "vendor", "bref", "bref"));
    const error = (await run(context()).catch((caught: unknown) => caught)) as LampError;
    expect(error.code).toBe("dependency");
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
    expect(sts.calls()).toHaveLength(0);
    expect(cfn.mock.calls()).toHaveLength(0);
  });

  it("an auto_prepend_file of the app's beside the runtime layer's: refused, pointing at php/prepend.php, no AWS API called", async () => {
    const extra = path.join(project.root, "php", "conf.d", "waf.ini");
    await writeFile(extra, "auto_prepend_file = /var/task/waf.php\n");
    try {
      const error = (await run(context()).catch((caught: unknown) => caught)) as LampError;
      expect(error.code).toBe("config");
      expect(error.message).toContain("php/conf.d/waf.ini sets auto_prepend_file");
      expect(error.hint).toContain("php/prepend.php");
      expect(sts.calls()).toHaveLength(0);
      expect(cfn.mock.calls()).toHaveLength(0);
    } finally {
      await rm(extra);
    }
  });

  it("names dangling symlinks it leaves out of the code package, once", async () => {
    const link = path.join(project.root, "public", "wp-config.php");
    await symlink("/etc/wordpress/config-missing.php", link);
    try {
      const ctx = context();
      expectStatus(await run(ctx), "deployed");
      const warnings = ctx.ui.texts("warn").filter((line) => line.includes("point"));
      expect(warnings).toEqual([expect.stringContaining("1 symlink in the project points to nothing (public/wp-config.php): left out of the code package")]);
    } finally {
      await rm(link);
    }
  });

  it("a Bref layer from another region: names both regions and the right ARN", async () => {
    const file = path.join(project.root, "template.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(file, text.replace(/arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-84:(\d+)/, "arn:aws:lambda:us-east-1:873528684822:layer:arm-php-84:$1"));
    const error = (await run(context()).catch((caught: unknown) => caught)) as LampError;
    expect(error.code).toBe("region");
    expect(error.message).toContain("published in us-east-1, but the stack deploys to eu-west-1");
    expect(error.hint).toMatch(/Use arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-84:\d+/);
    expect(sts.calls()).toHaveLength(0);
  });

  it("a project switched to router mode in lamp.json: writes and packages lamp/router.php, points the function at it, uploads public/'s static files", async () => {
    const file = path.join(project.root, "lamp.json");
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), router: true }));
    await writeFile(path.join(project.root, "public", "favicon.ico"), Buffer.from([0, 0, 1, 0]));
    const ctx = context();
    const result = await run(ctx);

    expectStatus(result, "deployed");
    expect(ctx.ui.texts().join("\n")).toContain("Wrote lamp/router.php");
    expect(await readFile(path.join(project.root, "lamp", "router.php"), "utf8")).toContain("serverless-lamp router");
    const web = sentTemplate().Resources.WebFunction.Properties;
    expect(web.Handler).toBe("lamp/router.php");
    expect(web.Environment.Variables.LAMP_DOCUMENT_ROOT).toBe("public");
    const object = await s3.raw.send(new GetObjectCommand({ Bucket: artifactsBucket, Key: result.package.key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).includes("lamp/router.php")).toBe(true);
    expect(result.assets?.documentRoot).toMatchObject({ prefix: "document-root/", uploaded: 1 });
    expect(await objectExists(assetsBucket, "document-root/favicon.ico")).toBe(true);
    expect(await objectExists(assetsBucket, "document-root/index.php")).toBe(false);
  });

  it("a handler that differs from the template's: refused clearly", async () => {
    const file = path.join(project.root, "lamp.json");
    const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(path.join(project.root, "public", "app.php"), "<?php\n");
    await writeFile(file, JSON.stringify({ ...config, handler: "public/app.php" }));
    await expect(run(context())).rejects.toThrow(/WebFunction has Handler "public\/index.php", but lamp.json's handler is "public\/app.php"/);
    expect(cfn.mock.calls()).toHaveLength(0);
  });
});

describe("lamp deploy: large templates", () => {
  it("uploads a template over 51,200 bytes and passes it by URL", async () => {
    cfn.addBootstrap();
    const file = path.join(project.root, "template.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(file, `${text}\nMetadata:\n  Notes: "${"x".repeat(60_000)}"\n`);
    const result = await run(context(), { assets: false });
    expect(result.status).toBe("deployed");
    const input = cfn.created[0]!;
    expect(input.TemplateBody).toBeUndefined();
    expect(input.TemplateURL).toMatch(new RegExp(`^${s3.server.endpointUrl}/${artifactsBucket}/templates/[0-9a-f]{64}\\.json$`));
    const key = input.TemplateURL!.split(`/${artifactsBucket}/`)[1]!;
    expect(await objectExists(artifactsBucket, key)).toBe(true);
  });
});

describe("lamp deploy, the command", () => {
  const lamp = (...args: string[]) =>
    runCliInProcess([...args, "--endpoint-url", s3.server.endpointUrl], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", CI: "1" } });

  it("--json prints one object on stdout; the site URL is the last human line", async () => {
    cfn.addBootstrap();
    await run(context(), { assets: false });
    const result = await lamp("deploy", "--no-assets", "--json");
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as DeployResult;
    expect(parsed).toMatchObject({ status: "no-changes", detectedBy: "fingerprint", stackName: "shop", outputs: { siteUrl: "https://d111111abcdef8.cloudfront.net" } });
    expect(result.stderr.trim().split("\n").at(-1)).toBe("✔ Live at https://d111111abcdef8.cloudfront.net");
  });

  it("a stack without a SiteUrl output (an edited template.yaml) is not a silent success: it says so and what to do", async () => {
    cfn.addBootstrap();
    await run(context(), { assets: false });
    const stack = cfn.find("shop")!;
    stack.outputs = stack.outputs.filter((output) => output.OutputKey !== "SiteUrl");
    const result = await lamp("deploy", "--no-assets");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("▲ The stack shop has no SiteUrl output, so lamp cannot say where the site is. ");
    expect(result.stderr).toMatch(/Restore Outputs\.SiteUrl in template\.yaml/);
    expect(result.stderr).not.toContain("Live at");
  });

  it("a deploy whose assets do not reach CloudFront's cache exits non-zero and says how to finish", async () => {
    cfn.addBootstrap();
    await run(context(), { assets: false });
    await writeFile(path.join(project.root, "assets", "style.css"), "body { color: red }");
    await run(context(), { assets: true }); // uploads the change; the next edit needs an invalidation
    await writeFile(path.join(project.root, "assets", "style.css"), "body { color: blue }");
    cloudFront.on(CreateInvalidationCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: {} }));
    const result = await lamp("deploy");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/The stack is deployed, but the assets are not: .*invalidation failed/);
    expect(result.stderr).toMatch(/lamp sync-assets/);
  });

  it("a deploy whose document root's static files do not reach CloudFront's cache exits non-zero too", async () => {
    cfn.addBootstrap();
    // Kept out of the code package, so that editing it changes the bucket only (no stack update).
    const file = path.join(project.root, "lamp.json");
    const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...config, package: { exclude: ["public/site.css"] } }));
    await run(context(), { assets: false });
    await writeFile(path.join(project.root, "public", "site.css"), "body { color: red }");
    await run(context(), { assets: true }); // uploads public/site.css under document-root/
    await writeFile(path.join(project.root, "public", "site.css"), "body { color: blue }");
    cloudFront.on(CreateInvalidationCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: {} }));
    const result = await lamp("deploy");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/The stack is deployed, but the assets are not: .*invalidation failed/);
  });

  it("a preflight failure is one readable line, a hint, a non-zero exit and no stack trace", async () => {
    await rm(path.join(project.root, "vendor"), { recursive: true });
    const result = await lamp("deploy");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "✖ vendor/autoload.php is missing: the Composer dependencies are not installed.\n  Run `composer install --no-dev --optimize-autoloader` in the project first.\n",
    );
  });
});

describe("lamp deploy: release commands", () => {
  /** Lambda's Invoke and the console log, behind the same endpoint as S3 (the rest goes on to s3rver). */
  let lambda: FakeLambda;
  beforeEach(async () => {
    cfn.addBootstrap();
    await mkdir(path.join(project.root, "scripts"));
    await copyFile(path.resolve("test/console/fixtures/remote.php"), path.join(project.root, "scripts", "remote.php"));
    lambda = await startFakeLambda({ codeRoot: project.root, passThrough: s3.server.endpointUrl });
  });
  afterEach(async () => {
    await lambda.close();
  });
  const setRelease = async (release: string[]) => {
    const file = path.join(project.root, "lamp.json");
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), release }));
  };
  const releaseContext = () => createTestContext({ cwd: project.root, aws: { endpointUrl: lambda.endpoint }, clock, yes: true });

  it("run in the console function after a deploy that changed something, in order, and not after a deploy with no changes", async () => {
    await setRelease(["scripts/remote.php migrate 0", "scripts/remote.php 'warm up' 0"]);
    const ctx = releaseContext();
    const first = await deploy({ root: project.root, assets: false, force: false }, ctx);
    expectStatus(first, "deployed");
    expect(lambda.invocations.map((invocation) => invocation.functionName)).toEqual(["shop-ConsoleFunction-abc", "shop-ConsoleFunction-abc"]);
    expect(first.release?.commands.map((command) => [command.command, command.exitCode])).toEqual([
      ["scripts/remote.php migrate 0", 0],
      ["scripts/remote.php 'warm up' 0", 0],
    ]);
    // Each command's output is shown, after the line naming it.
    const lines = ctx.ui.texts();
    expect(lines.indexOf('["migrate","0"]')).toBeGreaterThan(lines.indexOf("Release: scripts/remote.php migrate 0"));
    expect(lines.indexOf('["warm up","0"]')).toBeGreaterThan(lines.indexOf("Release: scripts/remote.php 'warm up' 0"));

    const unchanged = await deploy({ root: project.root, assets: false, force: false }, releaseContext());
    expectStatus(unchanged, "no-changes");
    expect(lambda.invocations).toHaveLength(2);

    await writeFile(path.join(project.root, "public", "index.php"), "<?php echo 'v2';\n");
    const changed = await deploy({ root: project.root, assets: false, force: false }, releaseContext());
    expectStatus(changed, "deployed");
    expect(lambda.invocations).toHaveLength(4);

    // --no-release: a changed deploy runs none.
    await writeFile(path.join(project.root, "public", "index.php"), "<?php echo 'v3';\n");
    const skipped = await deploy({ root: project.root, assets: false, force: false, release: false }, releaseContext());
    expectStatus(skipped, "deployed");
    expect(lambda.invocations).toHaveLength(4);
  }, 60_000);

  it("a failing one fails lamp deploy with its exit, says the new code is live and what did not run, and stops the rest", async () => {
    // The command runs on the real clock: so must CloudFormation's events.
    cfn.mock.restore();
    cfn = fakeCloudFormation(systemClock, { artifactsBucket });
    cfn.addBootstrap();
    await setRelease(["scripts/remote.php migrate 0", "scripts/remote.php seed 4", "scripts/remote.php never 0"]);
    const result = await runCliInProcess(["deploy", "--no-assets", "--endpoint-url", lambda.endpoint], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", CI: "1" } });
    expect(result.code).not.toBe(0);
    expect(lambda.invocations).toHaveLength(2);
    expect(result.stdout + result.stderr).toContain('["seed","4"]');
    expect(result.stderr).toContain(
      '✖ Release command "scripts/remote.php seed 4" exited with code 4. The deploy itself succeeded: the new code is live at https://d111111abcdef8.cloudfront.net, ' +
        'with whatever the command changed before it stopped; not run: "scripts/remote.php never 0".',
    );
    expect(result.stderr).toContain("lamp run --remote -- scripts/remote.php seed 4");
  }, 120_000);
});
