import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  StartLiveTailCommand,
  type FilteredLogEvent,
  type LiveTailSessionLogEvent,
  type StartLiveTailResponseStream,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { logs, type LogsOptions } from "../../src/logs/logs.js";
import { createFakeClock, createTestContext, type FakeClock, type TestContext } from "../helpers/context.js";

const cloudWatchLogs = mockClient(CloudWatchLogsClient);
const cloudFormation = mockClient(CloudFormationClient);

const groupName = "/aws/lambda/shop-WebFunction-Xk3aB9";
const groupArn = `arn:aws:logs:eu-west-1:123456789012:log-group:${groupName}`;
const stream = "2026/01/01/[$LATEST]0a1b2c3d4e5f";
const start = Date.UTC(2026, 0, 1, 12);

let projectDir: string;
let emptyDir: string;
beforeAll(async () => {
  projectDir = await mkdtemp(path.join(tmpdir(), "lamp-logs-project-"));
  emptyDir = await mkdtemp(path.join(tmpdir(), "lamp-logs-empty-"));
  await writeFile(path.join(projectDir, "lamp.json"), JSON.stringify({ stackName: "shop", region: "eu-west-1" }));
});
afterAll(async () => {
  await rm(projectDir, { recursive: true, force: true });
  await rm(emptyDir, { recursive: true, force: true });
});

beforeEach(() => {
  cloudWatchLogs.reset();
  cloudFormation.reset();
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "shop",
        StackStatus: "UPDATE_COMPLETE",
        CreationTime: new Date(start - 86_400_000),
        Outputs: [
          { OutputKey: "FunctionName", OutputValue: "shop-WebFunction-Xk3aB9" },
          { OutputKey: "LogGroupName", OutputValue: groupName },
        ],
      },
    ],
  });
  cloudWatchLogs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: groupName, arn: `${groupArn}:*`, logGroupArn: groupArn }] });
});

function context(clock: FakeClock = createFakeClock(start), cwd = projectDir): TestContext & { clock: FakeClock } {
  // No region from flags or environment: lamp.json's applies.
  return createTestContext({ cwd, clock, aws: {} }) as TestContext & { clock: FakeClock };
}

let eventCounter = 0;
function filtered(message: string, at: number, id = `e${++eventCounter}`): FilteredLogEvent {
  return { eventId: id, timestamp: at, ingestionTime: at + 800, logStreamName: stream, message: `${message}\n` };
}
function live(event: FilteredLogEvent): LiveTailSessionLogEvent {
  // Live Tail delivers the same event without an id.
  return { logStreamName: event.logStreamName, logGroupIdentifier: groupArn, timestamp: event.timestamp, ingestionTime: event.ingestionTime, message: event.message };
}
function awsError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });
}

/** The lines on stdout (the printer writes a page or an update at a time). */
const printed = (ctx: TestContext) => ctx.ui.texts("out").flatMap((text) => text.split("\n"));

/** An SDK-like event stream: yields its items, then `after` runs; records when it is closed. */
function eventStream(items: StartLiveTailResponseStream[], options: { after?: () => Promise<void> | void } = {}) {
  const state = { closed: false };
  async function* generate(): AsyncGenerator<StartLiveTailResponseStream> {
    try {
      for (const item of items) yield item;
      await options.after?.();
    } finally {
      state.closed = true;
    }
  }
  return { stream: generate(), state };
}

/** Like the SDK's stream once its request is aborted: the pending read fails with AbortError. */
function hangUntilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((_, reject) => {
    const fail = () => reject(Object.assign(new Error("Request aborted"), { name: "AbortError" }));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

const historyOnly: LogsOptions = { format: "pretty" };

describe("lamp logs: history", () => {
  it("reads the stack's log group from --since, every page, in time order, START/END folded", async () => {
    const ctx = context();
    cloudWatchLogs
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [
          filtered("START RequestId: 5453c803-9340-4f3e-b47d-1e2757f797e1 Version: $LATEST", start - 60_000),
          filtered("NOTICE: PHP message: PHP Warning:  Undefined variable $cart in /var/task/public/index.php on line 9", start - 59_990),
        ],
        nextToken: "page-2",
      })
      .resolvesOnce({
        events: [
          filtered("END RequestId: 5453c803-9340-4f3e-b47d-1e2757f797e1", start - 59_980),
          filtered("REPORT RequestId: 5453c803-9340-4f3e-b47d-1e2757f797e1\tDuration: 20.00 ms\tBilled Duration: 21 ms\tMemory Size: 1024 MB\tMax Memory Used: 80 MB\t", start - 59_980),
        ],
      });

    const result = await logs({ ...historyOnly, since: "2h", timeZone: "UTC" }, ctx);

    expect(printed(ctx)).toEqual([
      "11:59:00.010 5453c803  PHP Warning: Undefined variable $cart in /var/task/public/index.php on line 9",
      "11:59:00.020 5453c803  ▸ 20 ms (billed 21 ms) · 80/1024 MB",
    ]);
    expect(result).toEqual({ logGroup: groupName, mode: "history", events: 4, interrupted: false });
    const calls = cloudWatchLogs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(calls).toEqual([
      { logGroupName: groupName, startTime: start - 7_200_000 },
      { logGroupName: groupName, startTime: start - 7_200_000, nextToken: "page-2" },
    ]);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: "shop" });
  });

  it("says so when there is nothing to show, and passes --filter on", async () => {
    const ctx = context();
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({ events: [] });
    await logs({ ...historyOnly, filter: "?Fatal ?Warning" }, ctx);
    expect(ctx.ui.texts("note")).toEqual([expect.stringMatching(/^No log lines matching "\?Fatal \?Warning" in \/aws\/lambda\/shop-WebFunction-Xk3aB9 since /)]);
    expect(cloudWatchLogs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input).toMatchObject({ filterPattern: "?Fatal ?Warning", startTime: start - 600_000 });
  });

  it("--log-group works outside a project, and an ARN also names the region", async () => {
    const ctx = context(createFakeClock(start), emptyDir);
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({ events: [filtered("hello from cron", start - 1000)] });
    const result = await logs({ ...historyOnly, logGroup: groupArn, format: "raw" }, ctx);
    expect(result.logGroup).toBe(groupName);
    expect(printed(ctx)).toEqual(["hello from cron"]);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
    expect(await cloudWatchLogs.commandCalls(FilterLogEventsCommand)[0]!.thisValue.config.region()).toBe("eu-west-1");
  });

  it("--json prints one object per event on stdout", async () => {
    const ctx = createTestContext({ cwd: projectDir, clock: createFakeClock(start), aws: {}, json: true });
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({ events: [filtered("PHP Fatal error:  boom in /var/task/x.php on line 1", start - 5000, "evt-1")] });
    await logs({ format: "json" }, ctx);
    const [line] = printed(ctx);
    expect(JSON.parse(line!)).toMatchObject({ eventId: "evt-1", level: "error", kind: "message", logStream: stream, timestamp: start - 5000 });
  });
});

describe("lamp logs: bad input", () => {
  it("an unknown duration fails before any AWS call", async () => {
    const ctx = context();
    await expect(logs({ ...historyOnly, since: "5 fortnights" }, ctx)).rejects.toMatchObject({ code: "usage", message: 'Unknown duration "5 fortnights" for --since.' });
    expect(cloudWatchLogs.calls()).toHaveLength(0);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it("a log group that does not exist yet: the function has never run", async () => {
    const ctx = context();
    cloudWatchLogs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: `${groupName}-staging` }] });
    const error = await logs(historyOnly, ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LampError);
    expect((error as LampError).message).toBe(
      `Log group "${groupName}" does not exist in eu-west-1 yet: the function has never run (Lambda creates it on the first invocation).`,
    );
    expect((error as LampError).exitCode).toBe(1);
    expect(cloudWatchLogs.commandCalls(FilterLogEventsCommand)).toHaveLength(0);
  });

  it("the same when DescribeLogGroups is not allowed and FilterLogEvents finds no group", async () => {
    const ctx = context();
    cloudWatchLogs.on(DescribeLogGroupsCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: logs:DescribeLogGroups", 400));
    cloudWatchLogs.on(FilterLogEventsCommand).rejects(awsError("ResourceNotFoundException", "The specified log group does not exist.", 400));
    await expect(logs(historyOnly, ctx)).rejects.toThrow(/does not exist in eu-west-1 yet: the function has never run/);
  });

  it("access denied names the permission the credentials lack", async () => {
    const ctx = context();
    cloudWatchLogs
      .on(FilterLogEventsCommand)
      .rejects(awsError("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: logs:FilterLogEvents", 400));
    const error = (await logs(historyOnly, ctx).catch((caught: unknown) => caught)) as LampError;
    expect(error.message).toMatch(new RegExp(`^Access denied reading ${groupName}: User: .* logs:FilterLogEvents$`));
    expect(error.hint).toMatch(/logs:FilterLogEvents/);
    expect(error.exitCode).toBe(4);
  });

  it("outside a project without --log-group: says which flag to pass", async () => {
    const ctx = context(createFakeClock(start), emptyDir);
    await expect(logs(historyOnly, ctx)).rejects.toMatchObject({ code: "config", hint: expect.stringContaining("--log-group") });
  });

  it("a stack that is not deployed yet", async () => {
    const ctx = context();
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error("Stack with id shop does not exist"), { name: "ValidationError" }));
    await expect(logs(historyOnly, ctx)).rejects.toThrow('Stack "shop" does not exist in eu-west-1 yet.');
  });
});

describe("lamp logs --follow: Live Tail", () => {
  it("streams after the history, and resumes a timed-out session without losing or repeating lines", async () => {
    const ctx = context();
    const before = filtered("booting", start - 5000);
    const lineA = filtered("line A", start + 500);
    const lineB = filtered("line B", start + 1500);
    const gap = filtered("logged while no session was open", start + 2500);
    const lineC = filtered("line C", start + 3500);

    cloudWatchLogs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [before] }) // history
      .resolvesOnce({ events: [before] }) // back-fill of session 1: only what the history printed
      .resolvesOnce({ events: [lineB, gap] }); // back-fill of session 2: B was printed live, the gap was not
    const first = eventStream([
      { sessionStart: { sessionId: "s-1", logGroupIdentifiers: [groupArn] } },
      { sessionUpdate: { sessionResults: [live(lineA)] } },
      { sessionUpdate: { sessionResults: [live(lineB)] } },
      { SessionTimeoutException: { name: "SessionTimeoutException", $fault: "client", message: "Session timed out after 3 hours" } as never },
    ]);
    const second = eventStream(
      [
        { sessionStart: { sessionId: "s-2", logGroupIdentifiers: [groupArn] } },
        { sessionUpdate: { sessionResults: [] } },
        { sessionUpdate: { sessionResults: [live(lineC)] } },
      ],
      { after: () => ctx.controller.abort() },
    );
    // Each update arrives a second later.
    for (const session of [first, second]) {
      const original = session.stream.next.bind(session.stream);
      session.stream.next = (...args) => {
        ctx.clock.advance(1000);
        return original(...args);
      };
    }
    cloudWatchLogs.on(StartLiveTailCommand).resolvesOnce({ responseStream: first.stream }).resolvesOnce({ responseStream: second.stream });

    const result = await logs({ follow: true, format: "raw" }, ctx);

    expect(printed(ctx)).toEqual(["booting", "line A", "line B", "logged while no session was open", "line C"]);
    expect(result).toMatchObject({ mode: "live-tail", interrupted: true });
    expect(ctx.ui.texts("note")).toEqual([`── Live Tail on ${groupName} (eu-west-1) · Ctrl-C to stop ──`]);
    expect(ctx.ui.texts("debug").some((line) => line.startsWith("Live Tail session ended (the session reached its time limit)"))).toBe(true);
    expect(first.state.closed && second.state.closed).toBe(true);

    const liveTailCalls = cloudWatchLogs.commandCalls(StartLiveTailCommand);
    expect(liveTailCalls).toHaveLength(2);
    expect(liveTailCalls[0]!.args[0].input).toEqual({ logGroupIdentifiers: [groupArn] });
    // The second back-fill reaches back from the last update of the first session, not from --since.
    const backFills = cloudWatchLogs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input.startTime);
    const lastUpdateOfFirstSession = start + 3000; // session start, A, B: one second each
    expect(backFills).toEqual([start - 600_000, start - 30_000, lastUpdateOfFirstSession - 30_000]);
  });

  it("Ctrl-C while waiting for the next update ends cleanly (exit 0) and closes the stream", async () => {
    const ctx = context();
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({ events: [] });
    let waiting!: () => void;
    const reachedWait = new Promise<void>((resolve) => (waiting = resolve));
    const session = eventStream(
      [{ sessionStart: { sessionId: "s-1" } }, { sessionUpdate: { sessionResults: [live(filtered("first", start + 100))] } }],
      {
        after: () => {
          waiting();
          return hangUntilAborted(ctx.signal);
        },
      },
    );
    cloudWatchLogs.on(StartLiveTailCommand).resolves({ responseStream: session.stream });

    const running = logs({ follow: true, format: "raw" }, ctx);
    await reachedWait;
    ctx.controller.abort(new Error("Interrupted."));

    await expect(running).resolves.toMatchObject({ mode: "live-tail", interrupted: true });
    expect(printed(ctx)).toEqual(["first"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(session.state.closed).toBe(true);
    // The SDK closes the HTTP/2 stream when this signal aborts.
    expect((cloudWatchLogs.commandCalls(StartLiveTailCommand)[0]!.args as unknown[])[1]).toEqual({ abortSignal: ctx.signal });
  });

  it("warns once when Live Tail samples a busy log", async () => {
    const ctx = context();
    cloudWatchLogs.on(FilterLogEventsCommand).resolves({ events: [] });
    const session = eventStream(
      [
        { sessionStart: {} },
        { sessionUpdate: { sessionMetadata: { sampled: true }, sessionResults: [live(filtered("x", start))] } },
        { sessionUpdate: { sessionMetadata: { sampled: true }, sessionResults: [live(filtered("y", start + 1))] } },
      ],
      { after: () => ctx.controller.abort() },
    );
    cloudWatchLogs.on(StartLiveTailCommand).resolves({ responseStream: session.stream });
    await logs({ follow: true, format: "raw" }, ctx);
    expect(ctx.ui.texts("warn")).toEqual([expect.stringMatching(/^More than 500 lines a second: Live Tail is showing a sample/)]);
  });
});

describe("lamp logs --follow: Live Tail that keeps failing", () => {
  it("retries with a pause, then falls back to polling from where it was", async () => {
    const ctx = context();
    cloudWatchLogs.on(FilterLogEventsCommand).callsFake(async () => {
      // Stop once polling has begun: two pauses between sessions, then one poll interval.
      if (ctx.clock.sleeps.length >= 3) ctx.controller.abort();
      return { events: [] };
    });
    cloudWatchLogs.on(StartLiveTailCommand).callsFake(async () => ({
      responseStream: eventStream([{ SessionStreamingException: { name: "SessionStreamingException", $fault: "server", message: "Internal error" } as never }]).stream,
    }));

    const result = await logs({ follow: true, format: "raw" }, ctx);

    expect(cloudWatchLogs.commandCalls(StartLiveTailCommand)).toHaveLength(3);
    expect(ctx.ui.texts("warn")).toEqual([
      `Live Tail unavailable: it keeps failing (streaming error: Internal error). Polling ${groupName} every 2s instead · Ctrl-C to stop`,
    ]);
    // A pause after each failed session (doubling), then the poll interval.
    expect(ctx.clock.sleeps.slice(0, 3)).toEqual([2000, 4000, 2000]);
    expect(result.mode).toBe("polling");
  });
});

describe("lamp logs --follow: polling", () => {
  it("falls back to polling when Live Tail is not permitted, and says which mode it is in", async () => {
    const ctx = context();
    cloudWatchLogs.on(StartLiveTailCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: logs:StartLiveTail", 400));
    let polls = 0;
    cloudWatchLogs.on(FilterLogEventsCommand).callsFake(async () => {
      polls += 1;
      if (polls === 3) ctx.controller.abort();
      return { events: polls === 2 ? [filtered("from a poll", start)] : [] };
    });

    const result = await logs({ follow: true, format: "raw" }, ctx);

    expect(ctx.ui.texts("warn")).toEqual([
      `Live Tail unavailable: the credentials lack logs:StartLiveTail. Polling ${groupName} every 2s instead · Ctrl-C to stop`,
    ]);
    expect(printed(ctx)).toEqual(["from a poll"]);
    expect(result).toMatchObject({ mode: "polling", interrupted: true });
  });

  it("paginates, prints each event once across overlapping polls, and backs off while throttled", async () => {
    const ctx = context();
    const [e1, e2, e3, e4, e5, e6] = [1, 2, 3, 4, 5, 6].map((n) => filtered(`event ${n}`, start - 20_000 + n * 1000, `id-${n}`)) as FilteredLogEvent[];
    const throttled = () => awsError("ThrottlingException", "Rate exceeded", 400);
    cloudWatchLogs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [e1!, e2!], nextToken: "history-2" }) // history, page 1
      .resolvesOnce({ events: [e3!] }) // history, page 2
      .resolvesOnce({ events: [e2!, e3!, e4!] }) // poll 1 re-reads the last seconds
      .rejectsOnce(throttled()) // poll 2 …
      .rejectsOnce(throttled())
      .resolvesOnce({ events: [e4!, e5!], nextToken: "poll-2" })
      .callsFake(async () => {
        ctx.controller.abort();
        return { events: [e6!] };
      });

    await logs({ follow: true, poll: true, format: "raw" }, ctx);

    expect(printed(ctx)).toEqual(["event 1", "event 2", "event 3", "event 4", "event 5", "event 6"]);
    expect(ctx.ui.texts("note")).toEqual([`── Polling ${groupName} (eu-west-1) every 2s · Ctrl-C to stop ──`]);
    expect(cloudWatchLogs.commandCalls(StartLiveTailCommand)).toHaveLength(0);
    // One poll interval, then a doubling wait for each throttled call.
    expect(ctx.clock.sleeps).toEqual([2000, 2000, 4000]);
    expect(ctx.ui.texts("warn")).toEqual(["CloudWatch Logs is throttling requests; retrying in 2s."]);
    expect(ctx.ui.texts("debug")).toContain("CloudWatch Logs is throttling requests; retrying in 4s.");
    const inputs = cloudWatchLogs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(inputs[1]).toMatchObject({ nextToken: "history-2", startTime: start - 600_000 });
    expect(inputs[2]).toMatchObject({ startTime: start - 30_000 });
    expect(inputs[2]).not.toHaveProperty("nextToken");
    expect(inputs[6]).toMatchObject({ nextToken: "poll-2" });
  });

  it("history gives up with a clear error when throttling does not stop", async () => {
    const ctx = context();
    cloudWatchLogs.on(FilterLogEventsCommand).rejects(awsError("ThrottlingException", "Rate exceeded", 400));
    await expect(logs(historyOnly, ctx)).rejects.toMatchObject({ code: "limit", message: expect.stringMatching(/kept throttling/) });
    expect(ctx.clock.sleeps).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});
