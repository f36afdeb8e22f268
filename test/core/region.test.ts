import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awsSettingsFrom, createAwsClients, resolveRegion } from "../../src/core/aws.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { startLampDev } from "../helpers/lamp-dev.js";
import { makeProject, type TestProject } from "../deploy/project.js";

/**
 * One region for every command: --region, then lamp.json, then AWS_REGION, AWS_DEFAULT_REGION and
 * the profile's region. The commands are run against a local endpoint that records the region
 * each request was signed for (SigV4's credential scope), as AWS would route it.
 */

let work: string;
let configFile: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-region-"));
  configFile = path.join(work, "aws-config");
  await writeFile(configFile, "[default]\nregion = ca-central-1\n\n[profile staging]\n# a comment\nregion=ap-southeast-2\noutput = json\n");
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("resolveRegion: each source, in order", () => {
  const env = (extra: NodeJS.ProcessEnv) => ({ HOME: work, AWS_CONFIG_FILE: configFile, ...extra });

  it("--region first, even over lamp.json (and says they differ)", () => {
    const settings = awsSettingsFrom({ region: "us-west-2" }, env({ AWS_REGION: "us-east-1" }));
    expect(resolveRegion(settings, "eu-west-1")).toEqual({
      region: "us-west-2",
      source: "--region",
      disagreement: "Using region us-west-2 from --region (lamp.json says eu-west-1).",
    });
  });

  it("then lamp.json, over AWS_REGION, AWS_DEFAULT_REGION and the profile", () => {
    expect(resolveRegion(awsSettingsFrom({}, env({ AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-2" })), "eu-west-1")).toEqual({
      region: "eu-west-1",
      source: "lamp.json",
      disagreement: "Using region eu-west-1 from lamp.json, not us-east-1 from AWS_REGION; pass --region to use another.",
    });
    expect(resolveRegion(awsSettingsFrom({}, env({})), "eu-west-1").disagreement).toBe(
      "Using region eu-west-1 from lamp.json, not ca-central-1 from the default profile's region; pass --region to use another.",
    );
    // An environment that agrees is not worth a line.
    expect(resolveRegion(awsSettingsFrom({}, env({ AWS_REGION: "eu-west-1" })), "eu-west-1")).toEqual({ region: "eu-west-1", source: "lamp.json" });
  });

  it("then AWS_REGION, then AWS_DEFAULT_REGION", () => {
    expect(resolveRegion(awsSettingsFrom({}, env({ AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-2" })))).toEqual({ region: "us-east-1", source: "AWS_REGION" });
    expect(resolveRegion(awsSettingsFrom({}, env({ AWS_DEFAULT_REGION: "us-east-2" })))).toEqual({ region: "us-east-2", source: "AWS_DEFAULT_REGION" });
  });

  it("then the profile's region from the AWS config file ([default], or [profile NAME] with --profile / AWS_PROFILE)", () => {
    expect(resolveRegion(awsSettingsFrom({}, env({})))).toEqual({ region: "ca-central-1", source: "profile" });
    expect(resolveRegion(awsSettingsFrom({ profile: "staging" }, env({})))).toEqual({ region: "ap-southeast-2", source: "profile" });
    expect(resolveRegion(awsSettingsFrom({}, env({ AWS_PROFILE: "staging" })))).toEqual({ region: "ap-southeast-2", source: "profile" });
    expect(resolveRegion(awsSettingsFrom({}, { HOME: work, AWS_CONFIG_FILE: path.join(work, "absent") }))).toEqual({});
  });

  it("says a disagreement once per command, however many clients ask", () => {
    const lines: string[] = [];
    const clients = createAwsClients(awsSettingsFrom({}, env({ AWS_REGION: "us-east-1" })), undefined, (line) => lines.push(line));
    expect(clients.region("eu-west-1")).toBe("eu-west-1");
    expect(clients.region("eu-west-1")).toBe("eu-west-1");
    expect(lines).toHaveLength(1);
  });
});

describe("every command works where lamp.json says, whatever AWS_REGION says", () => {
  let server: Server;
  let endpointUrl: string;
  let signedFor: string[] = [];
  let project: TestProject;

  function scopeRegion(request: IncomingMessage): string {
    // Authorization: AWS4-HMAC-SHA256 Credential=KEY/20260101/<region>/<service>/aws4_request, ...
    return /Credential=[^/]+\/\d+\/([^/]+)\//.exec(request.headers.authorization ?? "")?.[1] ?? "unsigned";
  }

  const savedCredentials = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    // In this process the SDK's credential chain reads process.env, not the env the CLI is given.
    process.env.AWS_ACCESS_KEY_ID = "test";
    process.env.AWS_SECRET_ACCESS_KEY = "test";
    server = createServer((request, response) => {
      signedFor.push(scopeRegion(request));
      request.resume();
      request.on("end", () => {
        // What CloudFormation answers for a stack that is not there (and STS, here, for everything else).
        response.writeHead(400, { "content-type": "text/xml" });
        response.end(
          "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id shop does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    project = await makeProject({ region: "eu-west-1" });
    const config = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(path.join(project.root, "lamp.json"), "utf8"))) as Record<string, unknown>;
    // A database section, so that `lamp db --remote` has something to look for.
    await writeFile(path.join(project.root, "lamp.json"), JSON.stringify({ ...config, database: {} }, null, 2));
  });

  afterAll(async () => {
    for (const [name, value] of [["AWS_ACCESS_KEY_ID", savedCredentials.id], ["AWS_SECRET_ACCESS_KEY", savedCredentials.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await project.remove();
  });

  beforeEach(() => {
    signedFor = [];
  });

  const environment = () => ({
    PATH: process.env.PATH,
    HOME: work,
    AWS_CONFIG_FILE: configFile,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: endpointUrl,
  });
  const note = "Using region eu-west-1 from lamp.json, not us-east-1 from AWS_REGION; pass --region to use another.\n";

  it.each([
    ["deploy", ["deploy", "--yes"]],
    ["info", ["info"]],
    ["destroy", ["destroy", "--yes"]],
    ["logs", ["logs"]],
    ["sync-assets", ["sync-assets"]],
    ["db --remote", ["db", "export", "--remote"]],
  ])("lamp %s", async (_name, argv) => {
    const run = await runCliInProcess(argv, { cwd: project.root, env: environment() });
    expect(signedFor.length).toBeGreaterThan(0);
    expect(new Set(signedFor)).toEqual(new Set(["eu-west-1"]));
    // One line, on stderr, before whatever the command then says.
    expect(run.stderr.startsWith(note)).toBe(true);
    expect(run.stderr.split(note)).toHaveLength(2);
    expect(run.stdout).not.toContain("us-east-1");
  });

  it.each([
    ["info", ["info"]],
    ["logs", ["logs"]],
    ["db --remote", ["db", "export", "--remote"]],
  ])("lamp %s --region us-west-2 goes to us-west-2", async (_name, argv) => {
    const run = await runCliInProcess(["--region", "us-west-2", ...argv], { cwd: project.root, env: environment() });
    expect(new Set(signedFor)).toEqual(new Set(["us-west-2"]));
    expect(run.stderr).toContain("Using region us-west-2 from --region (lamp.json says eu-west-1).\n");
  });

  it("outside a project (lamp logs --log-group): AWS_DEFAULT_REGION, then the profile's region", async () => {
    const { AWS_REGION: _unset, ...withoutRegion } = environment();
    await runCliInProcess(["logs", "--log-group", "/aws/lambda/x"], { cwd: work, env: { ...withoutRegion, AWS_DEFAULT_REGION: "us-east-2" } });
    expect(new Set(signedFor)).toEqual(new Set(["us-east-2"]));
    signedFor = [];
    await runCliInProcess(["logs", "--log-group", "/aws/lambda/x"], { cwd: work, env: withoutRegion });
    expect(new Set(signedFor)).toEqual(new Set(["ca-central-1"]));
  });

  it("lamp init (no lamp.json yet): --region, else AWS_REGION, AWS_DEFAULT_REGION, then the profile's region", async () => {
    const made = async (name: string, argv: string[], env: NodeJS.ProcessEnv) => {
      const run = await runCliInProcess(["init", path.join(work, name), "--yes", ...argv], { cwd: work, env: { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: configFile, ...env } });
      expect(run.code, run.stderr).toBe(0);
      return (JSON.parse(await readFile(path.join(work, name, "lamp.json"), "utf8")) as { region: string }).region;
    };
    expect(await made("from-flag", ["--region", "us-west-2"], { AWS_REGION: "us-east-1" })).toBe("us-west-2");
    expect(await made("from-env", [], { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-east-2" })).toBe("us-east-1");
    expect(await made("from-default-env", [], { AWS_DEFAULT_REGION: "us-east-2" })).toBe("us-east-2");
    expect(await made("from-profile", [], {})).toBe("ca-central-1");
    expect(await made("from-named-profile", ["--profile", "staging"], {})).toBe("ap-southeast-2");
  });

  it("lamp dev gives PHP the region lamp deploy would use: lamp.json's over AWS_REGION, --region's over lamp.json", async () => {
    await writeFile(path.join(project.root, "public", "index.php"), "<?php echo getenv('AWS_REGION');\n");
    await writeFile(path.join(project.root, "lamp.json"), JSON.stringify({ stackName: "shop", region: "eu-west-1" }));
    for (const [args, expected] of [
      [[], "eu-west-1"],
      [["--region", "us-west-2"], "us-west-2"],
    ] as const) {
      const dev = await startLampDev(project.root, ["--port", "0", "--workers", "1", ...args], { HOME: work, AWS_CONFIG_FILE: configFile, AWS_REGION: "us-east-1" });
      try {
        const body = await (await fetch(`${dev.url}/`)).text();
        expect(body).toBe(expected);
        expect(dev.stderr()).toMatch(expected === "eu-west-1" ? /Using region eu-west-1 from lamp\.json, not us-east-1 from AWS_REGION/ : /Using region us-west-2 from --region/);
      } finally {
        dev.child.kill("SIGTERM");
        await dev.exit;
      }
    }
  });
});
