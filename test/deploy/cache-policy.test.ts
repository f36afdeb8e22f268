import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapTemplate, pageCachePolicyExport, pageCachePolicyOutput } from "../../src/deploy/artifacts.js";
import { packageTemplate, serializeTemplate } from "../../src/deploy/deployable-template.js";
import { parseTemplate } from "../../src/project/sam-template.js";
import { planProject } from "../../src/scaffold/init.js";
import { validatorsBin } from "../helpers/aws-validators.js";

/**
 * The pages' cache policy as AWS would receive it: lamp's bootstrap stack (where the policy lives,
 * one per account and region) and a new project's packaged template (which imports it), each
 * through cfn-lint and the SAM translator.
 */

const validators = validatorsBin;
const cfnLint = path.join(validators, "cfn-lint");
const samTranslate = path.join(validators, "sam-translate");
const haveValidators = existsSync(cfnLint) && existsSync(samTranslate);
if (!haveValidators) {
  if (process.env.CI) throw new Error(`the AWS validators are required in CI (looked in ${validators}; set LAMP_AWS_VALIDATORS)`);
  console.warn(`⚠ SKIPPED: cfn-lint / sam-translate not found in ${validators} (set LAMP_AWS_VALIDATORS): the cache policy is not validated`);
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-cache-policy-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function run(binary: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function packagedProjectTemplate(): Promise<Record<string, any>> {
  const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
  const template = parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8"));
  return packageTemplate(template, { handler: "public/index.php", environment: {}, code: { bucket: "artifacts", key: "code/abc.zip" } }) as Record<string, any>;
}

describe("the pages' cache policy", () => {
  it("lives in the bootstrap stack: TTLs 0/0/1 year, every cookie and query string and X-Forwarded-Host (never Host) in the key, gzip and brotli on", () => {
    const template = JSON.parse(bootstrapTemplate());
    const policies = Object.values(template.Resources as Record<string, any>).filter((resource) => resource.Type === "AWS::CloudFront::CachePolicy");
    expect(policies).toHaveLength(1);
    const config = policies[0].Properties.CachePolicyConfig;
    expect([config.MinTTL, config.DefaultTTL, config.MaxTTL]).toEqual([0, 0, 31_536_000]);
    const key = config.ParametersInCacheKeyAndForwardedToOrigin;
    expect(key.EnableAcceptEncodingGzip).toBe(true);
    expect(key.EnableAcceptEncodingBrotli).toBe(true);
    expect(key.CookiesConfig).toEqual({ CookieBehavior: "all" });
    expect(key.QueryStringsConfig).toEqual({ QueryStringBehavior: "all" });
    expect(key.HeadersConfig.HeaderBehavior).toBe("whitelist");
    expect(key.HeadersConfig.Headers.map((name: string) => name.toLowerCase())).toEqual(["x-forwarded-host"]);
    // One name per region (cache policies are global, names unique per account).
    expect(config.Name).toEqual({ "Fn::Sub": "lamp-pages-${AWS::Region}" });
    expect(template.Outputs[pageCachePolicyOutput].Export.Name).toBe(pageCachePolicyExport);
  });

  it("is what the project's default behaviour uses, with compression on; /assets/* keeps CachingOptimized", async () => {
    const template = await packagedProjectTemplate();
    const distribution = Object.values(template.Resources as Record<string, any>).find((resource) => resource.Type === "AWS::CloudFront::Distribution");
    const config = distribution.Properties.DistributionConfig;
    expect(config.DefaultCacheBehavior.CachePolicyId).toEqual({ "Fn::ImportValue": pageCachePolicyExport });
    expect(config.DefaultCacheBehavior.Compress).toBe(true);
    expect(config.DefaultCacheBehavior.CachedMethods).toEqual(["GET", "HEAD"]);
    // Host must not reach API Gateway: the origin request policy forwards every viewer header but Host.
    expect(config.DefaultCacheBehavior.OriginRequestPolicyId).toBe("b689b0a8-53d0-40ab-baf2-68738e2966ac");
    expect(config.CustomErrorResponses.map((entry: any) => [entry.ErrorCode, entry.ErrorCachingMinTTL])).toEqual([[500, 0], [502, 0], [503, 0], [504, 0]]);
    expect(config.CacheBehaviors[0].CachePolicyId).toBe("658327ea-f89d-4fab-a63d-7e88639e58f6");
  });

  it.skipIf(!haveValidators)("passes cfn-lint (bootstrap stack) and the SAM translator + cfn-lint (packaged project template)", async () => {
    const bootstrap = path.join(work, "bootstrap.json");
    await writeFile(bootstrap, bootstrapTemplate());
    const lintBootstrap = run(cfnLint, ["--regions", "eu-west-1", "--", bootstrap]);
    expect(lintBootstrap.output).toBe("");
    expect(lintBootstrap.status).toBe(0);

    const packaged = path.join(work, "packaged.json");
    await writeFile(packaged, serializeTemplate((await packagedProjectTemplate()) as never));
    const translated = path.join(work, "translated.json");
    const translate = run(samTranslate, [packaged, "-o", translated, "--region", "eu-west-1"]);
    expect(translate.output).toBe("");
    expect(translate.status).toBe(0);
    const lintProject = run(cfnLint, ["--regions", "eu-west-1", "--", translated]);
    expect(lintProject.output).toBe("");
    expect(lintProject.status).toBe(0);
  }, 120_000);
});
