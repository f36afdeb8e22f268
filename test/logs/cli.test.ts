import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { repoRoot, runLamp } from "../helpers/run-lamp.js";

const cloudWatchLogs = mockClient(CloudWatchLogsClient);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-logs-cli-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});
beforeEach(() => cloudWatchLogs.reset());

const lamp = (...argv: string[]) => runCliInProcess(argv, { cwd: scratch });

describe("lamp logs through the CLI", () => {
  it("an unknown --since is one readable line and a hint, exit 2, nothing on stdout", async () => {
    const run = await lamp("logs", "--since", "5 fortnights", "--log-group", "/aws/lambda/shop", "--region", "eu-west-1");
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      '✖ Unknown duration "5 fortnights" for --since.\n  Use a duration such as 30s, 10m, 2h or 1d, or a date such as 2024-05-01T10:00.\n',
    );
    expect(cloudWatchLogs.calls()).toHaveLength(0);
  });

  it("a log group that does not exist yet: exit 1, says the function has never run", async () => {
    cloudWatchLogs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    const run = await lamp("logs", "--log-group", "/aws/lambda/shop-new", "--region", "eu-west-1");
    expect(run.code).toBe(1);
    const [first, hint, ...rest] = run.stderr.trimEnd().split("\n");
    expect(first).toBe('✖ Log group "/aws/lambda/shop-new" does not exist in eu-west-1 yet: the function has never run (Lambda creates it on the first invocation).');
    expect(hint).toMatch(/^  Open the site or invoke the function once/);
    expect(rest).toEqual([]);
  });

  it("--json after the command name gives JSON lines on stdout; --raw with --json is refused", async () => {
    cloudWatchLogs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: "/aws/lambda/shop", logGroupArn: "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/shop" }] });
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({
      events: [{ eventId: "1", timestamp: Date.now() - 1000, logStreamName: "s", message: "NOTICE: PHP message: PHP Warning:  Undefined index: id in /var/task/public/index.php on line 4\n" }],
    });
    const run = await lamp("logs", "--log-group", "/aws/lambda/shop", "--region", "eu-west-1", "--json");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { level: string; eventId: string });
    expect(lines).toEqual([expect.objectContaining({ level: "warning", eventId: "1" })]);

    const both = await lamp("logs", "--log-group", "/aws/lambda/shop", "--raw", "--json");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^✖ --raw and --json cannot be used together\.\n/);
  });

  it("`lamp logs --help` (the built bin) lists the flags without loading the AWS SDK", async () => {
    const trace = path.join(scratch, "imports.txt");
    const run = await runLamp(["logs", "--help"], {
      nodeArgs: ["--import", path.join(repoRoot, "test/fixtures/trace-imports.mjs")],
      env: { LAMP_TRACE_IMPORTS: trace },
    });
    expect(run.code).toBe(0);
    for (const flag of ["--since", "--follow", "--filter", "--raw", "--log-group", "--poll"]) expect(run.stdout).toContain(flag);
    const loaded = await readFile(trace, "utf8");
    expect(loaded).toContain("/dist/commands/logs.js");
    expect(loaded).not.toMatch(/@aws-sdk|@smithy|\/dist\/logs\//);
  });
});
