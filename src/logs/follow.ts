import {
  StartLiveTailCommand,
  type CloudWatchLogsClient,
  type StartLiveTailResponseStream,
} from "@aws-sdk/client-cloudwatch-logs";
import { describeAwsError } from "../core/aws-errors.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { filterPages, isAccessDenied, logsError, throttleDelay, type LogGroup, type ThrottleOptions } from "./cloudwatch.js";
import { toLogEvent, type LogEvent } from "./events.js";

/** Prints events once each, oldest first, and remembers what it printed. */
export interface EventSink {
  print(events: LogEvent[]): void;
  /** No read will reach back before this time any more. */
  forgetBefore(timestamp: number): void;
}

export interface FollowSettings {
  filterPattern?: string;
  /** Time between two FilterLogEvents polls. */
  pollIntervalMs: number;
  /**
   * How far before "now" a read must reach again: events carry the time they were logged and
   * reach CloudWatch seconds later, so a read up to now can miss the newest few seconds.
   */
  ingestionLagMs: number;
  throttle: ThrottleOptions;
  /** Live Tail failures in a row before falling back to polling. */
  maxLiveTailFailures: number;
}

export const defaultFollowSettings: FollowSettings = {
  pollIntervalMs: 2000,
  ingestionLagMs: 30_000,
  // FilterLogEvents allows a few calls per second per account and region, shared with every
  // other tool: start at one poll interval and back off to 30 s.
  throttle: { baseDelayMs: 2000, maxDelayMs: 30_000 },
  maxLiveTailFailures: 3,
};

export type LiveTailOutcome =
  | { kind: "stopped" }
  | { kind: "unavailable"; reason: string; resumeFrom: number };

const aborted = Symbol("aborted");

/**
 * Iterates an event stream until it ends or the signal aborts. An SDK stream only notices an
 * abort when its next chunk would arrive, so the wait is raced against the signal; leaving
 * the loop closes the stream either way.
 */
async function* untilAborted<T>(stream: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = stream[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const abortion = new Promise<typeof aborted>((resolve) => {
    onAbort = () => resolve(aborted);
    if (signal.aborted) resolve(aborted);
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    for (;;) {
      const pending = iterator.next();
      const next = await Promise.race([pending, abortion]);
      if (next === aborted) {
        pending.catch(() => {});
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    // Not awaited: a stream stuck on the network must not hold up Ctrl-C.
    Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

function reasonLiveTailIsUnavailable(error: unknown, ctx: Context): string {
  if (isAccessDenied(error)) return "the credentials lack logs:StartLiveTail";
  const { name = "Error", message = "" } = error as { name?: string; message?: string };
  const endpoint = ctx.aws.settings.endpointUrl;
  if (endpoint) return `${endpoint} does not implement it`;
  // An HTML error page or a long SDK message: its first line is enough here.
  const firstLine = message.split("\n")[0]!.trim();
  const detail = firstLine.length > 120 ? `${firstLine.slice(0, 117)}...` : firstLine;
  return detail ? `${name}: ${detail}` : name;
}

/** Errors that polling would hit just the same: report them instead of falling back. */
function isFatal(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  if (name === "ResourceNotFoundException") return true;
  const described = describeAwsError(error);
  return described?.code === "credentials" || described?.code === "region";
}

/**
 * Follows with CloudWatch Logs Live Tail. Every session, the first and each one resumed after
 * the previous ended (sessions last at most 3 hours), starts with a FilterLogEvents back-fill
 * from where the last one left off, so nothing logged in between is lost; the sink drops what
 * was already printed. Returns when stopped, or when Live Tail turns out to be unavailable,
 * with the time polling should carry on from.
 */
export async function liveTail(
  client: CloudWatchLogsClient,
  group: LogGroup & { arn: string },
  startTime: number,
  sink: EventSink,
  ctx: Context,
  settings: FollowSettings,
): Promise<LiveTailOutcome> {
  return new LiveTail(client, group, sink, ctx, settings, startTime).follow();
}

type LiveTailStream = AsyncIterable<StartLiveTailResponseStream>;
/** How one session ended: why, whether it ever started, and whether that counts as a failure. */
interface SessionEnd {
  ended: string;
  started: boolean;
  failed: boolean;
}

/** One `lamp logs -f` on Live Tail: sessions opened, read and resumed until stopped or given up. */
class LiveTail {
  private sessions = 0;
  private failures = 0;
  private warnedSampling = false;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly group: LogGroup & { arn: string },
    private readonly sink: EventSink,
    private readonly ctx: Context,
    private readonly settings: FollowSettings,
    private resumeFrom: number,
  ) {}

  async follow(): Promise<LiveTailOutcome> {
    const { ctx, settings } = this;
    while (!ctx.signal.aborted) {
      const opened = await this.open();
      if (opened === "retry") continue;
      if (!("stream" in opened)) return opened;
      const { ended, started, failed } = await this.read(opened.stream);
      if (ctx.signal.aborted) return { kind: "stopped" };
      // A stream that ends before its session even started is a failure too, or an endpoint that
      // answers with empty streams would be asked again and again without a pause.
      if (failed || !started) this.failures += 1;
      if (this.failures >= settings.maxLiveTailFailures) {
        return { kind: "unavailable", reason: `it keeps failing (${ended.split("\n")[0]})`, resumeFrom: this.resumeFrom };
      }
      ctx.ui.debug(`Live Tail session ended (${ended}); resuming from ${new Date(this.resumeFrom).toISOString()}.`);
      if (this.failures > 0) await ctx.clock.sleep(throttleDelay(this.failures, settings.throttle), ctx.signal).catch(() => {});
    }
    return { kind: "stopped" };
  }

  /** Starts a session: its stream, "retry" after a pause, or how following ends. */
  private async open(): Promise<{ stream: LiveTailStream } | "retry" | LiveTailOutcome> {
    const { ctx, settings, group } = this;
    try {
      const response = await this.client.send(
        new StartLiveTailCommand({
          logGroupIdentifiers: [group.arn],
          ...(settings.filterPattern ? { logEventFilterPattern: settings.filterPattern } : {}),
        }),
        { abortSignal: ctx.signal },
      );
      if (!response.responseStream) return { kind: "unavailable", reason: "the endpoint returned no event stream", resumeFrom: this.resumeFrom };
      return { stream: response.responseStream };
    } catch (error) {
      if (ctx.signal.aborted) return { kind: "stopped" };
      if (isFatal(error)) throw logsError(error, group, "tailing");
      this.failures += 1;
      if (this.sessions === 0 || this.failures >= settings.maxLiveTailFailures) {
        return { kind: "unavailable", reason: reasonLiveTailIsUnavailable(error, ctx), resumeFrom: this.resumeFrom };
      }
      ctx.ui.debug(`Live Tail could not resume (${reasonLiveTailIsUnavailable(error, ctx)}); retrying.`);
      await ctx.clock.sleep(throttleDelay(this.failures, settings.throttle), ctx.signal).catch(() => {});
      return "retry";
    }
  }

  /** Prints a session's events until it ends. */
  private async read(stream: LiveTailStream): Promise<SessionEnd> {
    const end: SessionEnd = { ended: "the stream closed", started: false, failed: false };
    try {
      for await (const item of untilAborted(stream, this.ctx.signal)) {
        if (item.sessionStart) {
          end.started = true;
          await this.sessionStarted(item.sessionStart.sessionId);
        } else if (item.sessionUpdate) {
          this.update(item.sessionUpdate);
        } else if (item.SessionTimeoutException) {
          end.ended = "the session reached its time limit";
          break;
        } else if (item.SessionStreamingException) {
          end.failed = true;
          end.ended = `streaming error: ${item.SessionStreamingException.message ?? "unknown"}`;
          break;
        }
      }
    } catch (error) {
      if (this.ctx.signal.aborted) return end;
      // The back-fill's own errors (access denied, missing group) are already readable.
      if (error instanceof LampError) throw error;
      if (isFatal(error)) throw logsError(error, this.group, "tailing");
      end.failed = true;
      end.ended = `${(error as Error).name ?? "Error"}: ${(error as Error).message ?? error}`;
    }
    return end;
  }

  /** The back-fill comes before any update of this session is printed, so lines stay in order. */
  private async sessionStarted(sessionId: string | undefined): Promise<void> {
    const { ctx, settings, group } = this;
    this.sessions += 1;
    this.failures = 0;
    for await (const page of filterPages(this.client, group, { startTime: this.resumeFrom, filterPattern: settings.filterPattern }, ctx, settings.throttle)) {
      this.sink.print(page);
    }
    if (this.sessions === 1) ctx.ui.note(ctx.ui.colors.dim(`── Live Tail on ${group.name} (${group.region}) · Ctrl-C to stop ──`));
    else ctx.ui.debug(`Live Tail resumed (session ${sessionId ?? this.sessions}).`);
  }

  private update(update: NonNullable<StartLiveTailResponseStream["sessionUpdate"]>): void {
    const { ctx, settings } = this;
    this.resumeFrom = Math.max(this.resumeFrom, ctx.clock.now() - settings.ingestionLagMs);
    if (update.sessionMetadata?.sampled && !this.warnedSampling) {
      this.warnedSampling = true;
      ctx.ui.warn("More than 500 lines a second: Live Tail is showing a sample. Use --filter to narrow it down.");
    }
    this.sink.print((update.sessionResults ?? []).map(toLogEvent));
    this.sink.forgetBefore(this.resumeFrom);
  }
}

/**
 * Follows by polling FilterLogEvents: each poll reads from a little before the last one
 * (events arrive late), the sink drops events it already printed (by event id), and
 * throttling slows the polls down instead of failing. Runs until the signal aborts.
 */
export async function poll(
  client: CloudWatchLogsClient,
  group: LogGroup,
  startTime: number,
  sink: EventSink,
  ctx: Context,
  settings: FollowSettings,
): Promise<void> {
  let cursor = startTime;
  while (!ctx.signal.aborted) {
    const startedAt = ctx.clock.now();
    try {
      for await (const page of filterPages(client, group, { startTime: cursor, filterPattern: settings.filterPattern }, ctx, settings.throttle)) {
        sink.print(page);
      }
      cursor = Math.max(cursor, startedAt - settings.ingestionLagMs);
      sink.forgetBefore(cursor);
      await ctx.clock.sleep(settings.pollIntervalMs, ctx.signal);
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
  }
}
