import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig, type LampConfig } from "../../src/core/config.js";
import { applyConsole } from "../../src/console/template.js";
import { applyDatabase } from "../../src/database/template.js";
import { packageTemplate, serializeTemplate } from "../../src/deploy/template.js";
import { applyMail } from "../../src/mail/template.js";
import { applyExtensions, loadExtraLayerTable } from "../../src/project/php-extensions.js";
import { parseTemplate, type Template } from "../../src/project/template.js";
import { effectiveHandler, routerEnvironment } from "../../src/router/router.js";
import { applyRouter } from "../../src/router/template.js";
import { planProject } from "../../src/scaffold/init.js";
import { applyWordPress } from "../../src/wordpress/template.js";

/**
 * A `lamp init --wordpress` project with mail.from, packaged as lamp deploy packages it (router,
 * database, gd layer, media behaviour and permissions, SES permission), then through the SAM
 * translator and cfn-lint, as AWS would receive it.
 */
const validators = process.env.LAMP_AWS_VALIDATORS ?? "/tmp/awsv/aws-validators/bin";
const cfnLint = path.join(validators, "cfn-lint");
const samTranslate = path.join(validators, "sam-translate");
const haveValidators = existsSync(cfnLint) && existsSync(samTranslate);
if (!haveValidators) {
  if (process.env.CI) throw new Error(`the AWS validators are required in CI (looked in ${validators}; set LAMP_AWS_VALIDATORS)`);
  console.warn(`⚠ SKIPPED: cfn-lint / sam-translate not found in ${validators} (set LAMP_AWS_VALIDATORS): the WordPress template is not validated`);
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-wp-template-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function wordpressProject(mail?: string): Promise<{ config: LampConfig; template: Template }> {
  const { files } = await planProject({ target: path.join(work, "blog"), name: "blog", region: "eu-west-1", php: "8.3", arch: "x86_64", memory: "1024", force: false, wordpress: true });
  const config = await validateConfig({ ...JSON.parse(files.find((file) => file.path === "lamp.json")!.content.toString("utf8")), ...(mail ? { mail: { from: mail } } : {}) });
  return { config, template: parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8")) };
}

/** What lamp deploy sends, in its order (src/deploy/deploy.ts). */
async function packaged(config: LampConfig, input: Template): Promise<Record<string, any>> {
  const template = applyMail(applyWordPress(applyExtensions(applyDatabase(applyRouter(input, config), config), config, await loadExtraLayerTable()), config), config);
  return applyConsole(packageTemplate(template, { handler: effectiveHandler(config), environment: { ...config.environment, ...routerEnvironment(config) }, code: { bucket: "artifacts", key: "code/abc.zip" } }), config) as Record<string, any>;
}

function run(binary: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("a WordPress project's packaged template", () => {
  it("serves /wp-content/uploads/* from the bucket's origin (OAC), cached; the function may use exactly that prefix; x86_64 with Bref's gd layer", async () => {
    const { config, template } = await wordpressProject();
    const result = await packaged(config, template);
    const distribution = result.Resources.Distribution.Properties.DistributionConfig;
    const behaviour = distribution.CacheBehaviors.find((entry: any) => entry.PathPattern === "/wp-content/uploads/*");
    expect(behaviour).toMatchObject({ TargetOriginId: "Assets", AllowedMethods: ["GET", "HEAD"], Compress: true, CachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6" });
    expect(distribution.Origins.find((origin: any) => origin.Id === "Assets").OriginAccessControlId).toBeDefined();
    const web = result.Resources.WebFunction.Properties;
    expect(web.Architectures).toEqual(["x86_64"]);
    expect(web.Layers.some((arn: string) => /:403367587399:layer:gd-php-83:\d+$/.test(arn))).toBe(true);
    expect(web.Environment.Variables.LAMP_UPLOADS_BUCKET).toEqual({ Ref: "AssetsBucket" });
    expect(web.Handler).toBe("lamp/router.php");
    const statements = web.Policies.flatMap((policy: any) => policy.Statement ?? []);
    expect(statements.find((statement: any) => statement.Sid === "WordPressMedia").Resource).toEqual({ "Fn::Sub": "${AssetsBucket.Arn}/wp-content/uploads/*" });
    expect(statements.find((statement: any) => statement.Sid === "WordPressMediaListing").Condition).toEqual({ StringLike: { "s3:prefix": ["wp-content/uploads/*"] } });
    // WordPress's due cron events: every minute in the console function, which has the same media permission and bucket.
    const console = result.Resources.ConsoleFunction.Properties;
    expect(Object.values(console.Events).map((event: any) => [event.Type, event.Properties.ScheduleExpression])).toEqual([["ScheduleV2", "rate(1 minute)"]]);
    expect(console.Policies).toEqual(web.Policies);
    expect(console.Environment.Variables.LAMP_UPLOADS_BUCKET).toEqual({ Ref: "AssetsBucket" });
    // Without mail.from: no SES permission, no sender.
    expect(statements.some((statement: any) => String(statement.Action).includes("ses:"))).toBe(false);
    expect(web.Environment.Variables.LAMP_MAIL_FROM).toBeUndefined();
  });

  it("with mail.from: the sender in the environment, SES allowed as that address only", async () => {
    const { config, template } = await wordpressProject("site@example.com");
    const web = (await packaged(config, template)).Resources.WebFunction.Properties;
    expect(web.Environment.Variables.LAMP_MAIL_FROM).toBe("site@example.com");
    const ses = web.Policies.flatMap((policy: any) => policy.Statement ?? []).find((statement: any) => statement.Sid === "SendMailAsMailFrom");
    expect(ses.Condition).toEqual({ StringEquals: { "ses:FromAddress": "site@example.com" } });
    expect(ses.Resource.map((resource: any) => resource["Fn::Sub"])).toEqual([
      "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com",
      "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/site@example.com",
    ]);
  });

  it("a template without the bucket's origin is refused with what to restore; a project without \"wordpress\" is left alone", async () => {
    const { config, template } = await wordpressProject();
    const broken = structuredClone(template) as any;
    broken.Resources.Distribution.Properties.DistributionConfig.Origins = broken.Resources.Distribution.Properties.DistributionConfig.Origins.filter((origin: any) => origin.Id !== "Assets");
    expect(() => applyWordPress(broken, config)).toThrow(/no CloudFront origin reads AssetsBucket at its root/);
    expect(applyWordPress(template, { wordpress: false })).toBe(template);
  });

  it.skipIf(!haveValidators)("passes the SAM translator and cfn-lint (uploads behaviour, gd layer, x86_64, cron schedule, media and SES permissions)", async () => {
    const { config, template } = await wordpressProject("site@example.com");
    const file = path.join(work, "packaged.json");
    await writeFile(file, serializeTemplate((await packaged(config, template)) as never));
    const translated = path.join(work, "translated.json");
    const translate = run(samTranslate, [file, "-o", translated, "--region", "eu-west-1"]);
    expect(translate.output).toBe("");
    expect(translate.status).toBe(0);
    const lint = run(cfnLint, ["--regions", "eu-west-1", "--", translated]);
    expect(lint.output).toBe("");
    expect(lint.status).toBe(0);
  }, 120_000);
});
