import {
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  type CloudWatchLogsClient,
} from "@aws-sdk/client-cloudwatch-logs";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { toLogEvent, type LogEvent } from "./events.js";

export interface LogGroup {
  name: string;
  region: string;
  /** Needed by Live Tail; unknown when logs:DescribeLogGroups is not allowed. */
  arn?: string;
}

function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? "";
}

function errorMessage(error: unknown): string {
  return (error as { message?: string } | undefined)?.message ?? String(error);
}

export function isAccessDenied(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return ["AccessDeniedException", "AccessDenied"].includes(errorName(error)) || status === 403;
}

function isThrottling(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return (
    ["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailableException"].includes(errorName(error)) ||
    status === 429 ||
    (error as { $retryable?: { throttling?: boolean } })?.$retryable?.throttling === true
  );
}

function missingLogGroup(group: { name: string; region: string }, cause?: unknown): LampError {
  return new LampError(
    "not-found",
    `Log group "${group.name}" does not exist in ${group.region} yet: the function has never run (Lambda creates it on the first invocation).`,
    "Open the site or invoke the function once, then run `lamp logs` again; or check --log-group and --region.",
    { cause },
  );
}

/** The readable error for a CloudWatch Logs failure. */
export function logsError(error: unknown, group: LogGroup, action: string): unknown {
  if (error instanceof LampError) return error;
  const name = errorName(error);
  if (name === "ResourceNotFoundException") return missingLogGroup(group, error);
  if (isAccessDenied(error)) {
    return new LampError(
      "aws",
      `Access denied ${action} ${group.name}: ${errorMessage(error)}`,
      "The credentials in use need logs:FilterLogEvents (and logs:StartLiveTail, logs:DescribeLogGroups to follow live) on this log group.",
      { cause: error },
    );
  }
  if (name === "InvalidParameterException" && /filter/i.test(errorMessage(error))) {
    return new LampError("usage", `CloudWatch Logs rejected the --filter pattern: ${errorMessage(error)}`, "See https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html", { cause: error });
  }
  // Credentials, region and network errors: cli.ts words them, knowing --profile and --endpoint-url.
  return error;
}

/**
 * Checks that the log group exists and finds its ARN. When DescribeLogGroups is not allowed,
 * the group is still readable through FilterLogEvents, so that is not an error.
 */
export async function findLogGroup(client: CloudWatchLogsClient, name: string, region: string, ctx: Context): Promise<LogGroup> {
  try {
    const { logGroups = [] } = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, limit: 5 }), { abortSignal: ctx.signal });
    const group = logGroups.find((candidate) => candidate.logGroupName === name);
    if (!group) throw missingLogGroup({ name, region });
    return { name, region, arn: group.logGroupArn ?? group.arn?.replace(/:\*$/, "") };
  } catch (error) {
    if (isAccessDenied(error)) {
      ctx.ui.debug(`DescribeLogGroups is not allowed (${errorMessage(error)}); reading ${name} without it.`);
      return { name, region };
    }
    throw logsError(error, { name, region }, "describing");
  }
}

export interface ThrottleOptions {
  /** The first wait after a throttled call; doubles on each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many throttled calls in a row (history); unlimited when following. */
  maxAttempts?: number;
}

/** The wait before retry number `attempt` (1-based): doubling, capped. */
export function throttleDelay(attempt: number, options: ThrottleOptions): number {
  return Math.min(options.baseDelayMs * 2 ** (attempt - 1), options.maxDelayMs);
}

export interface FilterQuery {
  startTime: number;
  endTime?: number;
  filterPattern?: string;
}

/**
 * FilterLogEvents, page by page, each page oldest first. A throttled page is retried after a
 * doubling wait on the context's clock (so tests use a fake one), and the user is told.
 */
export async function* filterPages(
  client: CloudWatchLogsClient,
  group: LogGroup,
  query: FilterQuery,
  ctx: Context,
  throttle: ThrottleOptions,
): AsyncGenerator<LogEvent[]> {
  // By hand rather than the SDK's paginator: a throttled page is retried after a pause without
  // restarting the listing from its first page.
  let nextToken: string | undefined;
  let throttled = 0;
  for (;;) {
    let page;
    try {
      page = await client.send(
        new FilterLogEventsCommand({
          logGroupName: group.name,
          startTime: query.startTime,
          ...(query.endTime !== undefined ? { endTime: query.endTime } : {}),
          ...(query.filterPattern ? { filterPattern: query.filterPattern } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      if (ctx.signal.aborted || !isThrottling(error)) throw ctx.signal.aborted ? error : logsError(error, group, "reading");
      throttled += 1;
      if (throttle.maxAttempts !== undefined && throttled > throttle.maxAttempts) {
        throw new LampError("limit", `CloudWatch Logs kept throttling requests for ${group.name} (${throttled - 1} retries).`, "Try again in a minute, or narrow --since / --filter.", { cause: error });
      }
      const delay = throttleDelay(throttled, throttle);
      const message = `CloudWatch Logs is throttling requests; retrying in ${Math.round(delay / 1000)}s.`;
      if (throttled === 1) ctx.ui.warn(message);
      else ctx.ui.debug(message);
      await ctx.clock.sleep(delay, ctx.signal);
      continue;
    }
    throttled = 0;
    nextToken = page.nextToken;
    const events = (page.events ?? []).map(toLogEvent);
    if (events.length > 0) yield events;
    if (!nextToken) return;
  }
}
