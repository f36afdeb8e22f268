import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../src/core/clock.js";
import { deploy, type DeployResult } from "../../src/deploy/deploy.js";
import { packageProject, type PackageResult } from "../../src/deploy/package-project.js";
import { runTool, startMoto, tool, validatorsAvailable, validatorsBin, missingValidators, type MotoServer } from "../helpers/aws-validators.js";
import { createTestContext } from "../helpers/context.js";
import { fakeAcm } from "../domain/fakes.js";
import { makeProject, type TestProject } from "./project.js";

/**
 * What `lamp deploy` sends, for every combination of lamp.json's capabilities, through AWS's own
 * validators: cfn-lint (0 errors, 0 warnings), the SAM translator, and a deploy to moto server
 * (an AWS emulator) whose second run changes nothing. Templates come from `lamp package`, the
 * same builder as a deploy's (test/deploy/package-command.test.ts proves the bytes match).
 *
 * What moto 4.1.15 cannot show (../shared/aws-validators/README.md): it stores a SAM template
 * without expanding it (the translator above covers the expansion), ignores CloudFront and API
 * Gateway v2, and a stack made through a change set has no Outputs — so the second deploy goes
 * through a change set (which rotates the origin token) instead of lamp's fingerprint, and the
 * test asserts it changes no resource. ACM certificates take 60 s to issue there, so ACM alone is
 * a fake (test/domain/fakes.ts).
 */

const domain = { name: "www.example.com", aliases: ["example.com"] };
const everything = { router: true, database: { network: "private" }, domain };

interface Combination {
  id: string;
  config?: Record<string, unknown>;
  php?: string;
  arch?: string;
  /** The stack name (default lamp-<id>). */
  stackName?: string;
  /** Why moto cannot take this one (the validators still do). */
  notOnMoto?: string;
  /** --stage: packaged and deployed as the stack <stackName>-<stage>, with lamp.json's stages entry. */
  stage?: string;
}

const combinations: Combination[] = [
  { id: "plain" },
  { id: "router", config: { router: true } },
  { id: "database-public", config: { database: { name: "app" } } },
  { id: "database-private", config: { database: { name: "app", network: "private" } } },
  { id: "domain-with-aliases", config: { domain } },
  // moto names a stack's DB instance `<stack>-DatabaseInstance-<12 random>` without shortening it
  // as CloudFormation does, and RDS refuses identifiers over 63 characters: stack names stay short here.
  { id: "router-private-database-domain", config: everything, stackName: "lamp-everything" },
  {
    id: "longest-stack-name",
    config: everything,
    stackName: `L${"x".repeat(118)}-longest`,
    notOnMoto: "moto does not shorten the DB instance name it derives from the stack name (CloudFormation does)",
  },
  {
    // A pull-request preview of a production with a database and a domain: the stage's entry drops the
    // domain and the final snapshot (docs/stages-secrets.md), on the stack lamp-stage-pr-42.
    id: "stage-preview",
    stackName: "lamp-stage",
    stage: "pr-42",
    config: {
      environment: { APP_ENV: "production" },
      database: { name: "app" },
      domain,
      stages: { "pr-*": { environment: { APP_ENV: "preview" }, domain: null, database: { finalSnapshot: false, maxCapacity: 1 } } },
    },
  },
  { id: "php-8.2-x86_64", php: "8.2", arch: "x86_64" },
  { id: "php-8.3-arm64", php: "8.3", arch: "arm64" },
  { id: "php-8.5-x86_64", php: "8.5", arch: "x86_64" },
  {
    id: "schedules-release",
    config: {
      release: ["scripts/migrate.php --force"],
      schedule: [
        { run: "artisan schedule:run", rate: "1 minute" },
        { run: "scripts/cleanup.php --days 7", cron: "0 3 * * ? *", timezone: "Europe/Paris" },
      ],
      console: { timeout: 600 },
    },
  },
  // Bref's extra layers (gd) and an optional extension of the layer (intl): x86_64 only.
  { id: "extensions-gd-intl", arch: "x86_64", config: { php: { extensions: ["gd", "intl"] } } },
  // lamp init --wordpress with mail.from: media behaviour and permission, gd, the cron schedule, SES as mail.from.
  {
    id: "wordpress-mail",
    arch: "x86_64",
    config: {
      router: true,
      database: { name: "blog" },
      wordpress: true,
      php: { extensions: ["gd"] },
      mail: { from: "site@example.com" },
      schedule: [{ run: "public/wp-cron.php", rate: "1 minute" }],
    },
  },
];

const region = "eu-west-1";
const projects = new Map<string, TestProject>();
const packaged = new Map<string, PackageResult>();
let moto: MotoServer | undefined;
let lint: Promise<Map<string, string[]>>;
let translations: Map<string, Promise<{ code: number | null; output: string }>>;
const savedEnv = { ...process.env };

/** Real time, short waits: moto finishes each call before it answers. */
const quickClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))) };

/** cfn-lint once over every template (one Python start-up instead of ten): findings per template. */
async function lintAll(templates: string[]): Promise<Map<string, string[]>> {
  const run = await runTool(tool("cfn-lint"), ["--regions", region, "--format", "parseable", "--", ...templates]);
  // Exit code is a bit mask: 2 errors, 4 warnings, 8 informational; anything else is cfn-lint failing.
  if (run.code !== 0 && !run.stdout.trim()) throw new Error(`cfn-lint failed (${run.code}): ${run.stderr}`);
  const findings = new Map<string, string[]>(templates.map((file) => [file, []]));
  for (const line of run.stdout.split("\n").filter(Boolean)) {
    const file = templates.find((candidate) => line.startsWith(`${candidate}:`));
    findings.get(file ?? "?")?.push(line.slice((file?.length ?? 0) + 1));
  }
  return findings;
}

/**
 * moto 4.1.15 fails (HTTP 500, KeyError) on a change set parameter with UsePreviousValue, which
 * lamp deploy sends for the origin token slot CloudFront still uses: give moto the value the
 * previous deploy sent instead, as CloudFormation resolves it.
 */
function givePreviousValues(client: CloudFormationClient, sent: Map<string, string>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Parameters?: { ParameterKey?: string; ParameterValue?: string; UsePreviousValue?: boolean }[] };
      if (context.commandName === "CreateChangeSetCommand" && input.Parameters) {
        input.Parameters = input.Parameters.map((parameter) =>
          parameter.UsePreviousValue ? { ParameterKey: parameter.ParameterKey, ParameterValue: sent.get(parameter.ParameterKey!) } : parameter,
        );
        for (const parameter of input.Parameters) sent.set(parameter.ParameterKey!, parameter.ParameterValue!);
      }
      return next(args);
    },
    { step: "initialize", name: "motoUsePreviousValue" },
  );
}

/** Runs jobs two at a time (two cores), each started when one before it ends. */
function limited<T>(jobs: (() => Promise<T>)[], width = 2): Promise<T>[] {
  let chain: Promise<unknown>[] = Array.from({ length: width }, () => Promise.resolve());
  return jobs.map((job, index) => {
    const slot = index % width;
    const run = chain[slot]!.then(job, job);
    chain[slot] = run.catch(() => undefined);
    chain = [...chain];
    return run;
  });
}

describe.skipIf(!validatorsAvailable)("what lamp deploy sends, through AWS's validators", () => {
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = "testing";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
    delete process.env.AWS_PROFILE;
    const motoStarting = startMoto();
    for (const combination of combinations) {
      const project = await makeProject({ name: combination.stackName ?? `lamp-${combination.id.replace(/[._]/g, "")}`, php: combination.php, arch: combination.arch, region });
      projects.set(combination.id, project);
      const file = path.join(project.root, "lamp.json");
      await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), ...combination.config }));
      packaged.set(combination.id, await packageProject({ root: project.root }, createTestContext({ cwd: project.root, aws: { region }, stage: combination.stage })));
    }
    const templates = [...packaged.values()].map((result) => result.template);
    lint = lintAll(templates);
    const jobs = [...packaged].map(([id, result]) => async () => {
      const run = await runTool(tool("sam-translate"), [result.template, "-o", path.join(result.out, "translated.json"), "--region", region, "--fake-local-uris"]);
      return [id, { code: run.code, output: run.stdout + run.stderr }] as const;
    });
    translations = new Map(limited(jobs).map((promise, index) => [combinations[index]!.id, promise.then(([, outcome]) => outcome)]));
    moto = await motoStarting;
  }, 120_000);

  afterAll(async () => {
    await moto?.stop();
    for (const project of projects.values()) await project.remove();
    process.env = savedEnv;
  });

  it.each(combinations.map((combination) => combination.id))("%s: cfn-lint finds nothing (no error, no warning)", async (id) => {
    const findings = await lint;
    expect(findings.get(packaged.get(id)!.template)).toEqual([]);
  }, 120_000);

  it.each(combinations.map((combination) => combination.id))("%s: the SAM translator expands it", async (id) => {
    const outcome = await translations.get(id)!;
    expect(outcome.output).not.toMatch(/Error|Invalid/);
    expect(outcome.code).toBe(0);
    const translated = JSON.parse(await readFile(path.join(packaged.get(id)!.out, "translated.json"), "utf8"));
    expect(translated.Resources.WebFunction.Type).toBe("AWS::Lambda::Function");
  }, 120_000);

  it("stage-preview: what is packaged is the stage's entry merged over lamp.json, on the stage's stack", async () => {
    const result = packaged.get("stage-preview")!;
    expect(result.stackName).toBe("lamp-stage-pr-42");
    const template = JSON.parse(await readFile(result.template, "utf8")) as { Resources: Record<string, any> };
    expect(template.Resources.WebFunction.Properties.Environment.Variables.APP_ENV).toBe("preview");
    expect(template.Resources.DatabaseCluster).toMatchObject({ DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete" });
    expect(template.Resources.DatabaseCluster.Properties.ServerlessV2ScalingConfiguration.MaxCapacity).toBe(1);
    expect(template.Resources.Distribution.Properties.DistributionConfig.Aliases).toBeUndefined();
  });

  const onMoto = combinations.filter((combination) => !combination.notOnMoto).map((combination) => combination.id);
  it.each(onMoto)("%s: lamp deploy creates it on moto, and a second deploy changes no resource", async (id) => {
    const project = projects.get(id)!;
    // An empty account per combination: moto does not expand SAM, so every stack's log group would
    // be named after the same unexpanded function (/aws/lambda/WebFunction) and collide.
    await moto!.reset();
    const acm = fakeAcm();
    acm.add({ names: [domain.name, ...domain.aliases], status: "ISSUED", notAfter: new Date("2030-01-01") });
    const aws = { endpointUrl: moto!.endpointUrl, region };
    const sentParameters = new Map<string, string>();
    const { stage, stackName } = combinations.find((combination) => combination.id === id)!;
    const run = () => {
      const ctx = createTestContext({ cwd: project.root, clock: quickClock, aws, stage });
      givePreviousValues(ctx.aws.client(CloudFormationClient, { region }), sentParameters);
      return deploy({ root: project.root, assets: false, force: false }, ctx);
    };
    try {
      const first: DeployResult = await run();
      expect(first.status === "failed" ? first.reasons : []).toEqual([]);
      expect(first).toMatchObject({ status: "deployed", operation: "create" });
      if (stage) expect(first.stackName).toBe(`${stackName}-${stage}`);

      const cloudformation = new CloudFormationClient({ region, endpoint: moto!.endpointUrl });
      const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: first.stackName }));
      expect(Stacks?.[0]?.StackStatus).toBe("CREATE_COMPLETE");
      // The code of the package, uploaded where the template says (moto's GetTemplate cannot be parsed
      // back: it does not escape the template's `<` and `&&` in XML).
      expect(first.package.sha256).toBe(packaged.get(id)!.package.sha256);
      const artifacts = await cloudformation.send(new DescribeStacksCommand({ StackName: "lamp-bootstrap" }));
      const bucket = artifacts.Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === "ArtifactsBucketName")?.OutputValue;
      const head = await new S3Client({ region, endpoint: moto!.endpointUrl, forcePathStyle: true }).send(new HeadObjectCommand({ Bucket: bucket, Key: first.package.key }));
      expect(head.ContentLength).toBe(packaged.get(id)!.package.bytes);

      // On AWS the fingerprint output makes this "no changes" without CloudFormation; moto's stacks
      // have no outputs, so here the change set runs (rotating the origin token) and changes no resource.
      const second = await run();
      expect(second.status === "failed" ? second.reasons : []).toEqual([]);
      if (second.status === "deployed") expect(second.changes).toEqual([]);
      else expect(second).toMatchObject({ status: "no-changes", detectedBy: "change-set" });
    } finally {
      acm.mock.restore();
    }
  }, 60_000);
});

describe("AWS's validators", () => {
  it.skipIf(!process.env.CI)("are installed in CI (scripts/setup.sh unpacks them)", () => {
    expect(missingValidators, `missing in ${validatorsBin}`).toEqual([]);
  });
});
