import { copyFileSync, mkdirSync } from "node:fs";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadProject, type Project } from "../../src/project/config.js";
import { systemClock } from "../../src/core/clock.js";
import { CancelledError } from "../../src/core/errors.js";
import { ensureConsoleFile } from "../../src/console/handler.js";
import { runRemote } from "../../src/console/remote.js";
import { releaseFailure, runRelease } from "../../src/console/release.js";
import { createRecordingUi, createTestContext } from "../helpers/context.js";
import { makeProject, type TestProject } from "../deploy/project.js";
import { startFakeLambda, type FakeLambda } from "./fake-lambda.js";

/**
 * `lamp run --remote` against a local fake of Lambda's Invoke and CloudWatch Logs' FilterLogEvents
 * (their wire formats), behind which Bref's console runtime is played by a shell running the
 * project's real lamp/console.php with the real PHP, as Bref does.
 */
let project: TestProject;
let loaded: Project;
let lambda: FakeLambda;
const cloudformation = mockClient(CloudFormationClient);

beforeAll(async () => {
  project = await makeProject();
  mkdirSync(path.join(project.root, "scripts"));
  copyFileSync(path.resolve("test/console/fixtures/remote.php"), path.join(project.root, "scripts", "remote.php"));
  await ensureConsoleFile(project.root, createRecordingUi());
  loaded = await loadProject(project.root);
  lambda = await startFakeLambda({ codeRoot: project.root });
  vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  cloudformation.restore();
  await lambda.close();
  await project.remove();
});
beforeEach(() => {
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "shop",
        StackStatus: "UPDATE_COMPLETE",
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: "ConsoleFunctionName", OutputValue: "shop-ConsoleFunction-abc" },
          { OutputKey: "ConsoleLogGroupName", OutputValue: "/aws/lambda/shop-ConsoleFunction-abc" },
        ],
      },
    ],
  });
});

function context(env: NodeJS.ProcessEnv = {}) {
  return createTestContext({ clock: systemClock, env, aws: { region: "eu-west-1", endpointUrl: lambda.endpoint, timeoutMs: env.LAMP_AWS_TIMEOUT_MS ? Number(env.LAMP_AWS_TIMEOUT_MS) : undefined } });
}

describe("lamp run --remote -- <script> [args...]", () => {
  it("passes each argument as one $argv entry through the runtime's shell, signed, and returns the output and request id", async () => {
    const ctx = context();
    const result = await runRemote({ project: loaded, args: ["scripts/remote.php", "a b; rm -rf /", "0", "$(touch hacked)", `it's "q"`] }, ctx);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.output)).toEqual(["a b; rm -rf /", "0", "$(touch hacked)", `it's "q"`]);
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.truncated).toBe(false);
    expect(lambda.invocations.at(-1)!.functionName).toBe("shop-ConsoleFunction-abc");
    expect(lambda.invocations.at(-1)!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/);
    // The output is shown once, without lamp's own marker lines.
    expect(ctx.ui.texts("out")).toEqual([result.output.trim()]);
  }, 30_000);

  it("returns a failing command's own exit code from Bref's CommandFailed error", async () => {
    const ctx = context();
    const result = await runRemote({ project: loaded, args: ["scripts/remote.php", "x", "3"] }, ctx);
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.output)).toEqual(["x", "3"]);
  }, 30_000);

  it("shows output live from the log while the command runs, and is not cut by lamp's AWS call timeout", async () => {
    const ctx = context({ LAMP_AWS_TIMEOUT_MS: "1000" });
    const shown: { line: string; at: number }[] = [];
    const out = ctx.ui.out;
    ctx.ui.out = (line) => {
      shown.push({ line, at: Date.now() });
      out(line);
    };
    const result = await runRemote({ project: loaded, args: ["scripts/remote.php", "slow"] }, ctx);
    expect(result.exitCode).toBe(0);
    expect(shown.map((entry) => entry.line)).toEqual(["first line", "last line"]);
    // "first line" came from the log, seconds before Lambda answered.
    expect(lambda.invocations.at(-1)!.respondedAt! - shown[0]!.at).toBeGreaterThan(1000);
    expect(result.durationMs).toBeGreaterThan(3000);
  }, 30_000);

  it("says when Bref cut the output to its last 5 MB", async () => {
    const ctx = context();
    ctx.ui.out = () => {};
    const result = await runRemote({ project: loaded, args: ["scripts/remote.php", "big"] }, ctx);
    expect(result.truncated).toBe(true);
    expect(result.output.endsWith("the end\n")).toBe(true);
    expect(result.output).not.toContain("the beginning");
    expect(ctx.ui.texts("warn").join("\n")).toContain("cut to its last 5 MB");
  }, 60_000);

  it("on Ctrl-C stops waiting (130) and says the command goes on in Lambda and how to follow it", async () => {
    const ctx = context();
    const running = runRemote({ project: loaded, args: ["scripts/remote.php", "wait"] }, ctx);
    for (let tries = 0; !ctx.ui.texts("out").includes("waiting") && tries < 100; tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ctx.ui.texts("out")).toContain("waiting");
    ctx.controller.abort(new CancelledError("Interrupted."));
    const error = await running.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).exitCode).toBe(130);
    expect((error as Error).message).toContain("the command goes on in Lambda");
    expect((error as Error).message).toContain("lamp logs -f --log-group /aws/lambda/shop-ConsoleFunction-abc");
  }, 30_000);

  it("never invokes twice: a connection dropped after the command ran is an error, not a retry that would run it again", async () => {
    const ctx = context();
    const before = lambda.invocations.length;
    lambda.dropNextAnswer = true;
    const error = await runRemote({ project: loaded, args: ["scripts/remote.php", "once", "0"] }, ctx).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/^Could not invoke shop-ConsoleFunction-abc: /);
    expect((error as { hint?: string }).hint).toBeTruthy();
    expect(lambda.invocations.length - before).toBe(1);
  }, 30_000);

  it("release: runs the commands in order, stops at the first failure, and deploy says the new code is live and what to do", async () => {
    const ctx = context();
    const release = ["scripts/remote.php migrate 0", "scripts/remote.php 'seed it' 4", "scripts/remote.php never 0"];
    const before = lambda.invocations.length;
    const report = await runRelease({ ...loaded, config: { ...loaded.config, release } }, ctx);
    expect(report?.commands.map((command) => command.exitCode)).toEqual([0, 4]);
    expect(report?.failed).toEqual({ command: release[1], exitCode: 4 });
    expect(lambda.invocations.length - before).toBe(2);
    expect(ctx.ui.texts("out")).toEqual(['["migrate","0"]', '["seed it","4"]']);
    const error = releaseFailure(report!, release, "https://d111.cloudfront.net")!;
    expect(error.message).toBe(
      `Release command "scripts/remote.php 'seed it' 4" exited with code 4. The deploy itself succeeded: the new code is live at https://d111.cloudfront.net, ` +
        `with whatever the command changed before it stopped; not run: "scripts/remote.php never 0".`,
    );
    expect(error.hint).toContain("lamp run --remote -- scripts/remote.php 'seed it' 4");
  }, 30_000);
});
