import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig, type LampConfig } from "../../src/project/config.js";
import { deployableTemplate } from "../../src/deploy/deployable-template.js";
import { loadExtraLayerTable } from "../../src/project/php-extensions.js";
import { parseTemplate, type Template } from "../../src/project/sam-template.js";
import { planProject } from "../../src/scaffold/init.js";
import { applyWordPress } from "../../src/wordpress/apply-wordpress.js";

/**
 * A `lamp init --wordpress` project with mail.from, packaged as lamp deploy packages it (router,
 * database, gd layer, media behaviour and permissions, cron schedule, SES permission). The same
 * combination goes through cfn-lint, the SAM translator and moto in test/deploy/aws-validators.test.ts.
 */

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

/** What lamp deploy and lamp package send (their one builder). */
async function packaged(config: LampConfig, input: Template): Promise<Record<string, any>> {
  return deployableTemplate(input, config, { bucket: "artifacts", key: "code/abc.zip" }, await loadExtraLayerTable()) as Record<string, any>;
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
});
