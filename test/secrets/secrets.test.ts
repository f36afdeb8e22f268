import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient, DeleteLogGroupCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetParameterCommand, GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runTool, startMoto, tool, validatorsAvailable, type MotoServer } from "../helpers/aws-validators.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { makeProject, type TestProject } from "../deploy/project.js";

/**
 * `lamp secret` and `lamp deploy/destroy --stage` against moto (SSM, CloudFormation, S3, STS): what
 * reaches AWS is read back from it, not from a mock's record of calls.
 */
const region = "eu-west-1";
let moto: MotoServer;
const projects: TestProject[] = [];
const config = () => ({ region, endpoint: moto.endpointUrl, credentials: { accessKeyId: "test", secretAccessKey: "test" } });

beforeAll(async () => {
  if (!validatorsAvailable) return;
  moto = await startMoto();
  vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
}, 60_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all(projects.map((project) => project.remove()));
  await moto?.stop();
});

async function project(name: string, edit: (config: Record<string, any>) => void = () => {}): Promise<TestProject> {
  const made = await makeProject({ name, region });
  projects.push(made);
  const file = path.join(made.root, "lamp.json");
  const data = JSON.parse(await readFile(file, "utf8")) as Record<string, any>;
  edit(data);
  await writeFile(file, JSON.stringify(data, null, 2));
  return made;
}

/**
 * moto neither runs the SAM transform nor substitutes `${WebFunction}` (a resource it cannot make), so
 * every stack's log groups are literally `/aws/lambda/${WebFunction}` and `/aws/lambda/${ConsoleFunction}`,
 * and a second stack's "already exist": forgotten before each deploy (moto's reset would forget the secrets too).
 */
async function forgetSharedLogGroups(): Promise<void> {
  const logs = new CloudWatchLogsClient(config());
  const { logGroups = [] } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/aws/lambda/${" }));
  for (const group of logGroups) await logs.send(new DeleteLogGroupCommand({ logGroupName: group.logGroupName }));
}

async function lamp(root: string, args: string[], stdin?: string) {
  if (args[0] === "deploy") await forgetSharedLogGroups();
  return runCliInProcess(args, { cwd: root, env: { AWS_ENDPOINT_URL: moto.endpointUrl, AWS_REGION: region }, ...(stdin === undefined ? {} : { stdin }) });
}

async function parameter(name: string) {
  const ssm = new SSMClient(config());
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
  } catch (error) {
    if ((error as Error).name === "ParameterNotFound") return undefined;
    throw error;
  }
}

async function stackExists(name: string): Promise<boolean> {
  try {
    const { Stacks } = await new CloudFormationClient(config()).send(new DescribeStacksCommand({ StackName: name }));
    return Boolean(Stacks?.length) && Stacks![0]!.StackStatus !== "DELETE_COMPLETE";
  } catch {
    return false;
  }
}

/**
 * The template CloudFormation holds for the stack. Read from moto's raw answer: moto puts the body in
 * its XML unescaped, and the CloudFront function's code (`<`, `&&`) then breaks the SDK's XML parser.
 */
async function deployedTemplate(name: string): Promise<{ body: string; template: Record<string, any> }> {
  const response = await fetch(moto.endpointUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/cloudformation/aws4_request, SignedHeaders=host, Signature=0` },
    body: new URLSearchParams({ Action: "GetTemplate", Version: "2010-05-15", StackName: name }).toString(),
  });
  const xml = await response.text();
  const body = xml.slice(xml.indexOf("<TemplateBody>") + "<TemplateBody>".length, xml.indexOf("</TemplateBody>"));
  return { body, template: JSON.parse(body) as Record<string, any> };
}

describe.skipIf(!validatorsAvailable)("lamp secret (SSM Parameter Store)", () => {
  it("set, list and rm act on the stage's own path; values go in by stdin and never come out", async () => {
    const { root } = await project("shop");
    const production = await lamp(root, ["secret", "set", "API_KEY"], "prod-secret-value\n");
    expect(production.code, production.stderr).toBe(0);
    expect(production.stdout).toMatch(/new ones read this one.*run `lamp deploy`/);
    const preview = await lamp(root, ["secret", "set", "API_KEY", "--stage", "pr-42"], "preview-secret-value");
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain("`lamp deploy --stage pr-42`");

    // In SSM as SecureStrings, the one newline `echo` adds not part of the value.
    expect(await parameter("/lamp/shop/API_KEY")).toMatchObject({ Type: "SecureString", Value: "prod-secret-value" });
    expect(await parameter("/lamp/shop-pr-42/API_KEY")).toMatchObject({ Type: "SecureString", Value: "preview-secret-value" });

    const list = await lamp(root, ["secret", "list", "--stage", "pr-42", "--json"]);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as { stackName: string; where: string; secrets: { name: string; lastModified: string }[] };
    expect(listed).toMatchObject({ stackName: "shop-pr-42", where: "/lamp/shop-pr-42/" });
    expect(listed.secrets.map((secret) => secret.name)).toEqual(["API_KEY"]);
    expect(Date.parse(listed.secrets[0]!.lastModified)).toBeGreaterThan(0);
    const plain = await lamp(root, ["secret", "list"]);
    expect(plain.stdout).toMatch(/^API_KEY\s+\d{4}-\d\d-\d\dT/);

    const removed = await lamp(root, ["secret", "rm", "API_KEY", "--stage", "pr-42"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await parameter("/lamp/shop-pr-42/API_KEY")).toBeUndefined();
    expect(await parameter("/lamp/shop/API_KEY")).toBeDefined();
    const again = await lamp(root, ["secret", "rm", "API_KEY", "--stage", "pr-42"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("shop-pr-42 has no secret API_KEY.");

    for (const run of [production, preview, list, plain, removed, again]) {
      expect(run.stdout + run.stderr).not.toMatch(/prod-secret-value|preview-secret-value/);
    }
  }, 60_000);

  it("refuses a name lamp.json's environment has, a name that is no variable name, and a missing value", async () => {
    const { root } = await project("names", (data) => (data.environment = { APP_ENV: "production" }));
    const both = await lamp(root, ["secret", "set", "APP_ENV"], "x");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("APP_ENV is also in lamp.json's environment");
    const shape = await lamp(root, ["secret", "set", "api-key"], "x");
    expect(shape.code).toBe(2);
    expect(shape.stderr).toContain('"api-key" is not an environment variable name');
    const empty = await lamp(root, ["secret", "set", "API_KEY"]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/No value for API_KEY|value is empty/);
    expect(await parameter("/lamp/names/APP_ENV")).toBeUndefined();
    expect(await parameter("/lamp/names/API_KEY")).toBeUndefined();

    // A name that reached lamp.json's environment after the secret was set: deploy refuses before creating anything.
    expect((await lamp(root, ["secret", "set", "MAIL_KEY"], "m")).code).toBe(0);
    const file = path.join(root, "lamp.json");
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), environment: { APP_ENV: "production", MAIL_KEY: "x" } }));
    const deploy = await lamp(root, ["deploy", "--yes"]);
    expect(deploy.code).toBe(3);
    expect(deploy.stderr).toContain("MAIL_KEY is both a secret of names and in lamp.json's environment.");
    expect(await stackExists("names")).toBe(false);
  }, 30_000);

  it("above 10 secrets, says what each cold start then costs", async () => {
    const { root } = await project("many");
    let last;
    for (let index = 1; index <= 11; index += 1) last = await lamp(root, ["secret", "set", `KEY_${index}`], `value-${index}`);
    expect(last!.code).toBe(0);
    expect(last!.stderr).toContain("11 secrets: each cold start makes 2 GetParameters calls (one per 10)");
  }, 60_000);
});

describe.skipIf(!validatorsAvailable)("lamp deploy and destroy --stage", () => {
  it("deploys a stage as <stackName>-<stage> with its settings and bref-ssm secrets, the default stage as the bare name; destroy removes the stage's stack and secrets", async () => {
    const made = await project("store", (data) => {
      data.environment = { APP_ENV: "production" };
      data.stages = { "pr-*": { environment: { APP_ENV: "preview" } } };
    });
    const { root } = made;
    expect((await lamp(root, ["secret", "set", "STRIPE_KEY", "--stage", "pr-42"], "sk_test_preview_value_123")).code).toBe(0);

    // A project with secrets but without the loader that resolves them is stopped before anything is created.
    const composerFile = path.join(root, "composer.json");
    const composer = JSON.parse(await readFile(composerFile, "utf8")) as { require: Record<string, string> };
    delete composer.require["bref/secrets-loader"];
    await writeFile(composerFile, JSON.stringify(composer));
    const refused = await lamp(root, ["deploy", "--stage", "pr-42", "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("composer.json does not require bref/secrets-loader");
    expect(refused.stderr).toContain("Run `composer require bref/secrets-loader`");
    expect(await stackExists("store-pr-42")).toBe(false);
    composer.require["bref/secrets-loader"] = "^1.1";
    await writeFile(composerFile, JSON.stringify(composer));
    await mkdir(path.join(root, "vendor", "bref", "secrets-loader"), { recursive: true });

    const deployed = await lamp(root, ["deploy", "--stage", "pr-42", "--yes", "--json", "--no-assets"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(JSON.parse(deployed.stdout)).toMatchObject({ status: "deployed", operation: "create", stackName: "store-pr-42" });
    expect(await stackExists("store-pr-42")).toBe(true);
    expect(await stackExists("store")).toBe(false);
    // Every command acts on the stage's stack: LAMP_STAGE works as --stage does.
    const info = await runCliInProcess(["info", "--json"], { cwd: root, env: { AWS_ENDPOINT_URL: moto.endpointUrl, AWS_REGION: region, LAMP_STAGE: "pr-42" } });
    expect(JSON.parse(info.stdout)).toMatchObject({ exists: true, stackName: "store-pr-42" });

    const { body, template } = await deployedTemplate("store-pr-42");
    expect(body).not.toContain("sk_test_preview_value_123");
    const web = template.Resources.WebFunction.Properties;
    expect(web.Environment.Variables).toMatchObject({ APP_ENV: "preview", STRIPE_KEY: "bref-ssm:/lamp/store-pr-42/STRIPE_KEY" });
    const statement = (web.Policies as any[]).flatMap((policy) => policy.Statement ?? []).find((candidate: any) => candidate.Sid === "LampSecrets");
    expect(statement).toEqual({
      Sid: "LampSecrets",
      Effect: "Allow",
      Action: "ssm:GetParameters",
      Resource: { "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/lamp/store-pr-42/*" },
    });

    // The console function (lamp run --remote, release, schedules) runs the same PHP: same variables, same policy.
    const console = template.Resources.ConsoleFunction.Properties;
    expect(console.Environment.Variables.STRIPE_KEY).toBe("bref-ssm:/lamp/store-pr-42/STRIPE_KEY");
    expect(JSON.stringify(console.Policies)).toContain("parameter/lamp/store-pr-42/*");

    // Bref's contract (bref/secrets-loader): each `bref-ssm:<name>` value is replaced at cold start by
    // GetParameters(<names>, WithDecryption) in chunks of 10, with the function's role.
    const ssm = new SSMClient(config());
    const references = Object.entries(web.Environment.Variables as Record<string, string>).filter(([, value]) => typeof value === "string" && value.startsWith("bref-ssm:"));
    const names = references.map(([, value]) => value.slice("bref-ssm:".length));
    const { Parameters = [], InvalidParameters = [] } = await ssm.send(new GetParametersCommand({ Names: names.slice(0, 10), WithDecryption: true }));
    expect(InvalidParameters).toEqual([]);
    expect(Object.fromEntries(Parameters.map((found) => [found.Name, found.Value]))).toEqual({ "/lamp/store-pr-42/STRIPE_KEY": "sk_test_preview_value_123" });
    // The role may read exactly these: every parameter's ARN falls under the policy's path, another stage's does not.
    const [, partition, , , account] = Parameters[0]!.ARN!.split(":");
    const allowed = statement.Resource["Fn::Sub"].replace("${AWS::Partition}", partition).replace("${AWS::Region}", region).replace("${AWS::AccountId}", account);
    const matches = (arn: string) => arn.startsWith(allowed.slice(0, -1)) && !arn.slice(allowed.length - 1).includes("/");
    expect(matches(Parameters[0]!.ARN!)).toBe(true);
    expect(matches(`arn:${partition}:ssm:${region}:${account}:parameter/lamp/store/STRIPE_KEY`)).toBe(false);
    expect(matches(`arn:${partition}:ssm:${region}:${account}:parameter/lamp/store-pr-42-x/STRIPE_KEY`)).toBe(false);

    // The default stage: the bare stack name, the top-level settings, none of the preview's secrets.
    const production = await lamp(root, ["deploy", "--yes", "--json", "--no-assets"]);
    expect(production.code, production.stderr).toBe(0);
    expect(await stackExists("store")).toBe(true);
    const bare = (await deployedTemplate("store")).template.Resources.WebFunction.Properties;
    expect(bare.Environment.Variables.APP_ENV).toBe("production");
    expect(bare.Environment.Variables.STRIPE_KEY).toBeUndefined();
    expect(bare.Policies).toBeUndefined();

    const destroyed = await lamp(root, ["destroy", "--stage", "pr-42", "--yes", "--json"]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(JSON.parse(destroyed.stdout)).toMatchObject({ stackName: "store-pr-42", status: "deleted", secretsDeleted: ["STRIPE_KEY"] });
    expect(await stackExists("store-pr-42")).toBe(false);
    expect(await parameter("/lamp/store-pr-42/STRIPE_KEY")).toBeUndefined();
    expect(await stackExists("store")).toBe(true);
  }, 120_000);

  it("the packaged template of a stage with secrets passes the SAM translator and cfn-lint", async () => {
    const { root } = await project("linted");
    expect((await lamp(root, ["secret", "set", "API_TOKEN", "--stage", "staging"], "t0ken-value")).code).toBe(0);
    await mkdir(path.join(root, "vendor", "bref", "secrets-loader"), { recursive: true });
    const deployed = await lamp(root, ["deploy", "--stage", "staging", "--yes", "--no-assets"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    const packaged = path.join(root, "packaged.json");
    await writeFile(packaged, (await deployedTemplate("linted-staging")).body);
    const translated = path.join(root, "translated.json");
    const sam = await runTool(tool("sam-translate"), [packaged, "-o", translated, "--region", region]);
    expect(sam.code, sam.stdout + sam.stderr).toBe(0);
    // cfn-lint on what was deployed, and on its expansion: no error, no warning.
    const lint = await runTool(tool("cfn-lint"), ["--regions", region, "--format", "parseable", "--", packaged, translated]);
    expect(lint.stdout + lint.stderr).toBe("");
    expect(lint.code).toBe(0);
    const role = Object.values((JSON.parse(await readFile(translated, "utf8")) as { Resources: Record<string, any> }).Resources).find((resource) => resource.Type === "AWS::IAM::Role");
    expect(JSON.stringify(role.Properties.Policies)).toContain("parameter/lamp/linted-staging/*");
  }, 120_000);
});
