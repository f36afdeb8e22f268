import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { Context } from "../core/context.js";
import { findLogGroup, filterPages, type LogGroup } from "./cloudwatch.js";
import { SeenEvents, byTime, type LogEvent } from "./events.js";
import { defaultFollowSettings, liveTail, poll, type EventSink, type FollowSettings } from "./follow.js";
import { LogFormatter, type OutputFormat } from "./format.js";
import { parseSince } from "./since.js";
import { resolveLogTarget, type LogTarget } from "./target.js";

export interface LogsOptions {
  /** 30s, 10m, 2h, 1d, or a date. Default: 10m. */
  since?: string;
  follow?: boolean;
  /** A CloudWatch Logs filter pattern. */
  filter?: string;
  format: OutputFormat;
  /** A log group name or ARN instead of the stack's. */
  logGroup?: string;
  /** Follow by polling FilterLogEvents even when Live Tail is available. */
  poll?: boolean;
  /** Display time zone; the system's when undefined. */
  timeZone?: string;
}

export type LogsMode = "history" | "live-tail" | "polling";

export interface LogsResult {
  logGroup: string;
  mode: LogsMode;
  /** Events printed (folded START/END lines count: they were read). */
  events: number;
  /** Ended by Ctrl-C rather than by running out of history. */
  interrupted: boolean;
}

const defaultSince = "10m";

class Printer implements EventSink {
  private readonly seen = new SeenEvents();
  printed = 0;

  constructor(
    private readonly formatter: LogFormatter,
    private readonly out: (text: string) => void,
    /** Reads overlap only when following; a plain history read has nothing to de-duplicate. */
    private readonly deduplicate: boolean,
  ) {}

  print(events: LogEvent[]): void {
    const lines: string[] = [];
    for (const event of [...events].sort(byTime)) {
      if (this.deduplicate && !this.seen.add(event)) continue;
      this.printed += 1;
      lines.push(...this.formatter.format(event));
    }
    // One write per page or update rather than per line: thousands of lines a second otherwise
    // spend their time in write calls.
    if (lines.length > 0) this.out(lines.join("\n"));
  }

  forgetBefore(timestamp: number): void {
    this.seen.forgetBefore(timestamp);
  }
}

/**
 * `lamp logs`: the function's log lines since a moment, and with `follow` the new ones as they
 * come (Live Tail, or polling when Live Tail is unavailable), until Ctrl-C, which is a normal end.
 */
export async function logs(options: LogsOptions, ctx: Context, settings: FollowSettings = defaultFollowSettings): Promise<LogsResult> {
  const startTime = parseSince(options.since ?? defaultSince, ctx.clock.now());
  let target: LogTarget;
  try {
    target = await resolveLogTarget(options.logGroup, ctx);
  } catch (error) {
    if (ctx.signal.aborted) return { logGroup: options.logGroup ?? "", mode: "history", events: 0, interrupted: true };
    throw error;
  }
  const client = ctx.aws.client(CloudWatchLogsClient, { region: target.region });
  const formatter = new LogFormatter({ format: options.format, colors: ctx.ui.colors, now: ctx.clock.now(), timeZone: options.timeZone });
  const printer = new Printer(formatter, (text) => ctx.ui.out(text), Boolean(options.follow));
  const follow = { ...settings, filterPattern: options.filter };
  let mode: LogsMode = options.follow ? "live-tail" : "history";
  const result = (): LogsResult => ({ logGroup: target.logGroupName, mode, events: printer.printed, interrupted: ctx.signal.aborted });

  try {
    const group: LogGroup = await findLogGroup(client, target.logGroupName, target.region, ctx);
    ctx.ui.debug(`Reading ${group.name} in ${group.region} from ${new Date(startTime).toISOString()}.`);

    const historyStartedAt = ctx.clock.now();
    // History first even when following: Live Tail only buffers about ten seconds of lines
    // while a long history is being read.
    for await (const page of filterPages(client, group, { startTime, filterPattern: options.filter }, ctx, { ...settings.throttle, maxAttempts: 6 })) {
      printer.print(page);
    }

    if (!options.follow) {
      if (printer.printed === 0) {
        const matching = options.filter ? ` matching ${JSON.stringify(options.filter)}` : "";
        ctx.ui.note(`No log lines${matching} in ${group.name} since ${new Date(startTime).toLocaleString()}.`);
      }
      return result();
    }

    const resumeFrom = Math.max(startTime, historyStartedAt - settings.ingestionLagMs);
    let pollFrom = resumeFrom;
    if (options.poll) {
      ctx.ui.note(ctx.ui.colors.dim(`── Polling ${group.name} (${group.region}) every ${settings.pollIntervalMs / 1000}s · Ctrl-C to stop ──`));
    } else {
      const outcome = group.arn
        ? await liveTail(client, { ...group, arn: group.arn }, resumeFrom, printer, ctx, follow)
        : ({ kind: "unavailable", reason: "the log group's ARN is unknown without logs:DescribeLogGroups", resumeFrom } as const);
      if (outcome.kind === "stopped") return result();
      ctx.ui.warn(`Live Tail unavailable: ${outcome.reason}. Polling ${group.name} every ${settings.pollIntervalMs / 1000}s instead · Ctrl-C to stop`);
      pollFrom = outcome.resumeFrom;
    }
    mode = "polling";
    await poll(client, group, pollFrom, printer, ctx, follow);
    return result();
  } catch (error) {
    // Ctrl-C while following (or reading history) is how the user says "enough": not an error.
    if (ctx.signal.aborted) return result();
    throw error;
  }
}
