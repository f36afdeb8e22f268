import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type LampConfig } from "../../src/project/config.js";
import { applyConsole, ConsoleResource } from "../../src/console/apply-console.js";
import { applyDatabase } from "../../src/database/apply-database.js";
import { packageTemplate, serializeTemplate } from "../../src/deploy/deployable-template.js";
import { parseTemplate, type Template, type TemplateValue } from "../../src/project/sam-template.js";
import { makeProject, type TestProject } from "../deploy/project.js";
import { validate, validatorsPresent } from "./validators.js";

let project: TestProject;
let work: string;
let projectTemplate: Template;

beforeAll(async () => {
  project = await makeProject();
  work = await mkdtemp(path.join(tmpdir(), "lamp-console-template-"));
  projectTemplate = parseTemplate(await readFile(path.join(project.root, "template.yaml"), "utf8"));
});
afterAll(async () => {
  await project.remove();
  await rm(work, { recursive: true, force: true });
});

function packaged(config: LampConfig): Template {
  const withDatabase = applyDatabase(projectTemplate, config);
  const web = packageTemplate(withDatabase, { handler: config.handler, environment: config.environment, code: { bucket: "artifacts", key: "code/abc.zip" } });
  return applyConsole(web, config);
}

const scheduled = defaultConfig({
  stackName: "shop",
  region: "eu-west-1",
  environment: { APP_ENV: "production" },
  database: { network: "private" },
});
Object.assign(scheduled, {
  release: ["artisan migrate --force"],
  schedule: [
    { run: "artisan schedule:run", rate: "1 minute" },
    { run: "scripts/cleanup.php --days 7 'a b; rm -rf /'", cron: "0 3 * * ? *", timezone: "Europe/Paris" },
  ],
  console: { timeout: 600 },
});

describe("the console function in the packaged template", () => {
  it("is the web function's code, layers, environment, VPC and memory, on Bref's console runtime, with no HTTP event", () => {
    const template = packaged(scheduled);
    const web = template.Resources!.WebFunction!.Properties!;
    const console = template.Resources![ConsoleResource.function]!.Properties!;
    for (const name of ["CodeUri", "Layers", "MemorySize", "Architectures", "Runtime", "VpcConfig"]) expect(console[name], name).toEqual(web[name]);
    const webVariables = (web.Environment as { Variables: Record<string, TemplateValue> }).Variables;
    const variables = (console.Environment as { Variables: Record<string, TemplateValue> }).Variables;
    expect(variables).toEqual({ ...webVariables, BREF_RUNTIME: "console" });
    expect(variables.APP_ENV).toBe("production");
    expect(variables.DB_PASSWORD).toEqual(webVariables.DB_PASSWORD);
    expect(console.Handler).toBe("lamp/console.php");
    expect(console.Timeout).toBe(600);
    const events = Object.values(console.Events as Record<string, { Type: string }>);
    expect(events.map((event) => event.Type)).toEqual(["ScheduleV2", "ScheduleV2"]);
    expect(template.Resources![ConsoleResource.logGroup]!.Properties!.RetentionInDays).toBe(30);
  });

  it("defaults to Lambda's maximum timeout, and has no schedule or queue without schedules", () => {
    const template = packaged(defaultConfig({ stackName: "shop", region: "eu-west-1" }));
    const console = template.Resources![ConsoleResource.function]!.Properties!;
    expect(console.Timeout).toBe(900);
    expect(console.Events).toBeUndefined();
    expect(template.Resources![ConsoleResource.deadLetterQueue]).toBeUndefined();
  });

  it("gives each schedule its command quoted for the console runtime's shell, a retry policy and the dead-letter queue", () => {
    const events = packaged(scheduled).Resources![ConsoleResource.function]!.Properties!.Events as Record<string, { Properties: Record<string, TemplateValue> }>;
    const nightly = events.Schedule2!.Properties;
    expect(nightly.ScheduleExpression).toBe("cron(0 3 * * ? *)");
    expect(nightly.ScheduleExpressionTimezone).toBe("Europe/Paris");
    expect(JSON.parse(nightly.Input as string)).toBe(`'scripts/cleanup.php' '--days' '7' 'a b; rm -rf /'`);
    expect(events.Schedule1!.Properties.ScheduleExpression).toBe("rate(1 minute)");
    expect(nightly.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 });
    expect(nightly.DeadLetterConfig).toEqual({ Arn: { "Fn::GetAtt": [ConsoleResource.deadLetterQueue, "Arn"] } });
  });

  it.skipIf(!validatorsPresent)("passes the SAM translator and cfn-lint, with schedules, a private database and release", async () => {
    const file = path.join(work, "packaged.json");
    await writeFile(file, serializeTemplate(packaged(scheduled)));
    const outcome = await validate(file, path.join(work, "translated.json"));
    expect(outcome).toEqual({ translate: "", lint: "" });
    const translated = JSON.parse(await readFile(path.join(work, "translated.json"), "utf8")) as Template;
    const types = Object.values(translated.Resources!).map((resource) => resource.Type);
    expect(types.filter((type) => type === "AWS::Scheduler::Schedule")).toHaveLength(2);
    expect(types).toContain("AWS::Lambda::EventInvokeConfig");
  }, 120_000);

  it("refuses a template that already declares ConsoleFunction instead of overwriting it", () => {
    const template = structuredClone(projectTemplate);
    template.Resources!.ConsoleFunction = { Type: "AWS::Serverless::Function", Properties: {} };
    expect(() => applyConsole(template, scheduled)).toThrow(/declares ConsoleFunction, a logical id lamp adds/);
  });
});
