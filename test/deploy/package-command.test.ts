import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy } from "../../src/deploy/deploy.js";
import { packageProject, type PackageResult } from "../../src/deploy/package-project.js";
import { useLocalS3 } from "../assets/s3-server.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { createFakeClock, createTestContext, type FakeClock } from "../helpers/context.js";
import { fakeCloudFormation } from "./fake-cloudformation.js";
import { makeProject, type TestProject } from "./project.js";

const artifactsBucket = "lamp-artifacts-test";
const sts = mockClient(STSClient);
const s3 = useLocalS3([artifactsBucket, "shop-assets"]);
let project: TestProject;
let cfn: ReturnType<typeof fakeCloudFormation>;
let clock: FakeClock;

afterAll(() => {
  sts.restore();
  cfn?.mock.restore();
});
beforeEach(async () => {
  cfn?.mock.restore();
  clock = createFakeClock();
  cfn = fakeCloudFormation(clock, { artifactsBucket });
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/dev" });
  project = await makeProject();
});
afterEach(async () => {
  await project.remove();
});

async function editConfig(change: Record<string, unknown>): Promise<void> {
  const file = path.join(project.root, "lamp.json");
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), ...change }, null, 2));
}

const lamp = (...args: string[]) =>
  // No credentials and an endpoint nothing listens on: any AWS call would fail the command.
  runCliInProcess(args, { cwd: project.root, env: { PATH: process.env.PATH, HOME: project.root, NO_COLOR: "1", AWS_ENDPOINT_URL: "http://127.0.0.1:9" } });

describe("lamp package", () => {
  it("writes the template, the code zip and a summary under .lamp/package, with no AWS call and no credentials", async () => {
    await editConfig({ router: true, database: { name: "shop" }, environment: { APP_ENV: "prod" } });
    const result = await lamp("package", "--json");
    expect(result.stderr).not.toMatch(/✖/);
    expect(result.code).toBe(0);
    expect(sts.calls()).toHaveLength(0);
    const paths = JSON.parse(result.stdout) as PackageResult;
    const out = path.join(project.root, ".lamp", "package");
    expect(paths).toMatchObject({ out, template: path.join(out, "template.json"), code: path.join(out, "code.zip"), summary: path.join(out, "summary.txt") });

    const template = JSON.parse(await readFile(paths.template, "utf8"));
    expect(template.Resources.WebFunction.Properties.CodeUri).toBe("code.zip");
    expect(template.Resources.WebFunction.Properties.Handler).toBe("lamp/router.php");
    expect(template.Resources.DatabaseCluster.Type).toBe("AWS::RDS::DBCluster");
    expect(template.Resources.WebFunction.Properties.Environment.Variables.APP_ENV).toBe("prod");

    // The zip holds the project's code, and `unzip` reads it.
    const listing = execFileSync("python3", ["-m", "zipfile", "-l", paths.code], { encoding: "utf8" });
    expect(listing).toMatch(/public\/index\.php/);
    expect(listing).toMatch(/lamp\/router\.php/);
    expect(listing).not.toMatch(/\.lamp\//);

    const summary = await readFile(paths.summary, "utf8");
    expect(summary).toMatch(/AWS::RDS::DBCluster/);
    expect(summary).toMatch(/router: the function runs lamp\/router\.php/);
    expect(summary).toMatch(/database "shop": Aurora MySQL Serverless v2, public network/);
    expect(summary).toMatch(/sam deploy --template-file .*template\.json --stack-name shop --region eu-west-1/);
    expect(paths.package.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a custom domain's certificate is a parameter, named in the summary with how to pass it", async () => {
    await editConfig({ domain: { name: "www.example.com", aliases: ["example.com"] } });
    const result = await lamp("package", "--out", "../out");
    expect(result.code).toBe(0);
    const out = path.join(project.root, "..", "out");
    const template = JSON.parse(await readFile(path.join(out, "template.json"), "utf8"));
    expect(template.Parameters.DomainCertificateArn).toMatchObject({ Type: "String" });
    expect(template.Resources.Distribution.Properties.DistributionConfig.ViewerCertificate.AcmCertificateArn).toEqual({ Ref: "DomainCertificateArn" });
    expect(result.stdout).toMatch(/--parameter-overrides .*DomainCertificateArn=<value>/);
    expect(result.stdout).toMatch(/domain: www\.example\.com, example\.com/);
  });

  it("lamp deploy sends the same template: the packaged one with the uploaded code and the fingerprint", async () => {
    await editConfig({ router: true, database: { name: "shop", network: "private" }, environment: { APP_ENV: "prod" } });
    const packaged = await packageProject({ root: project.root }, createTestContext({ cwd: project.root, aws: { region: "eu-west-1" } }));
    const result = await deploy({ root: project.root, assets: false, force: false }, createTestContext({ cwd: project.root, clock, aws: { endpointUrl: s3.server.endpointUrl, region: "eu-west-1" } }));
    expect(result.status).toBe("deployed");
    // The same code: the zip is deterministic, so both name the same bytes.
    expect(result.package.sha256).toBe(packaged.package.sha256);

    const sent = cfn.created.at(-1)!.TemplateBody!;
    const expected = JSON.parse(await readFile(packaged.template, "utf8"));
    // The deploy-time values: where the code was uploaded, and the output that remembers what was deployed.
    const functions = Object.values(expected.Resources as Record<string, any>).filter((resource) => resource.Properties?.CodeUri === "code.zip");
    expect(functions.length).toBeGreaterThan(0);
    for (const resource of functions) resource.Properties.CodeUri = { Bucket: artifactsBucket, Key: result.package.key };
    const fingerprint = JSON.parse(sent).Outputs.LampFingerprint;
    expected.Outputs.LampFingerprint = fingerprint;
    expect(sent).toBe(JSON.stringify(expected));
  });

  it("leaves its own output out of the next package, when --out is inside the project", async () => {
    expect((await lamp("package", "--out", "build/lamp")).code).toBe(0);
    expect((await lamp("package", "--out", "build/lamp")).code).toBe(0);
    const listing = execFileSync("python3", ["-m", "zipfile", "-l", path.join(project.root, "build", "lamp", "code.zip")], { encoding: "utf8" });
    expect(listing).not.toMatch(/build\/lamp/);
    expect(existsSync(path.join(project.root, "build", "lamp", "code.zip.partial"))).toBe(false);
  });

  it("a project that cannot deploy is refused the same way, in one line, before anything is written", async () => {
    await rm(path.join(project.root, "vendor"), { recursive: true });
    const result = await lamp("package");
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "✖ vendor/autoload.php is missing: the Composer dependencies are not installed.\n  Run `composer install --no-dev --optimize-autoloader` in the project first.\n",
    );
    expect(existsSync(path.join(project.root, ".lamp", "package"))).toBe(false);
  });

  it("an --out that is a file: one line saying so", async () => {
    await writeFile(path.join(project.root, "taken"), "");
    const result = await lamp("package", "--out", "taken");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^✖ Cannot create .*taken: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
