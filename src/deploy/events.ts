import { CloudFormationClient, paginateDescribeStackEvents, type StackEvent } from "@aws-sdk/client-cloudformation";
import type { Context } from "../core/context.js";
import { formatSeconds } from "../core/clock.js";

/**
 * Following a stack operation through its events: a compact live view (one spinner line with
 * what is in progress, one line per finished resource) and, on failure, the reasons that
 * caused it rather than the cascade of "Resource creation cancelled" that follows.
 */

export const pollIntervalMs = 3_000;

const stackType = "AWS::CloudFormation::Stack";

/** A stack status CloudFormation stays in until someone acts. */
function isTerminalStackStatus(status: string | undefined): boolean {
  return Boolean(status) && !status!.endsWith("_IN_PROGRESS");
}

function isFailedStackStatus(status: string | undefined): boolean {
  return Boolean(status) && (status!.includes("FAILED") || status!.includes("ROLLBACK"));
}

export const isDeleteStatus = (status: string): boolean => status.startsWith("DELETE_");

function isStackEvent(event: StackEvent, stackName: string): boolean {
  return event.ResourceType === stackType && event.LogicalResourceId === stackName;
}

const cancelledReason = /^Resource (creation|update|deletion) cancelled\.?$/i;

/** The failures that caused the others: resource-level failures that are not cancellations. */
export function rootCauses(events: readonly StackEvent[], stackName: string): string[] {
  const causes: string[] = [];
  for (const event of events) {
    if (!event.ResourceStatus?.endsWith("_FAILED") || isStackEvent(event, stackName)) continue;
    const reason = (event.ResourceStatusReason ?? "").trim();
    if (!reason || cancelledReason.test(reason)) continue;
    const line = `${event.LogicalResourceId} (${event.ResourceType}): ${reason}`;
    if (!causes.includes(line)) causes.push(line);
  }
  if (causes.length === 0) {
    // Nothing resource-level: the stack's own reason is the best there is (e.g. a SAM transform error).
    for (const event of events) {
      if (isStackEvent(event, stackName) && event.ResourceStatusReason && isFailedStackStatus(event.ResourceStatus)) {
        const reason = event.ResourceStatusReason.trim();
        if (!causes.includes(reason)) causes.push(reason);
      }
    }
  }
  return causes;
}


export interface FollowOptions {
  stackName: string;
  /** The stack's id (ARN): events stay readable by id after a deleted stack's name is free again. */
  stackId: string;
  region: string;
  /** Events at or before this time (ms) belong to earlier operations. */
  since: number;
  /** No live view (the caller shows its own spinner). */
  quiet?: boolean;
  /** The verb for the spinner: "Deploying", "Deleting". */
  verb?: string;
  /** Which final stack statuses end this operation (default: any); a delete waits for DELETE_*. */
  isFinal?: (status: string) => boolean;
}

export interface FollowOutcome {
  /** The stack's final status. */
  status: string;
  /** Root-cause failure reasons, empty on success. */
  reasons: string[];
  events: StackEvent[];
}

/** New events since the last poll, oldest first. */
async function newEvents(ctx: Context, options: FollowOptions, seen: Set<string>): Promise<StackEvent[]> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region: options.region });
  const fresh: StackEvent[] = [];
  // Leaving the loop stops the paginator: pages older than this operation are never fetched.
  pages: for await (const page of paginateDescribeStackEvents({ client: cloudformation }, { StackName: options.stackId }, { abortSignal: ctx.signal })) {
    for (const event of page.StackEvents ?? []) {
      // Newest first: stop at the first event already seen or not after this operation began.
      if ((event.EventId && seen.has(event.EventId)) || (event.Timestamp && event.Timestamp.getTime() <= options.since)) break pages;
      fresh.push(event);
    }
  }
  for (const event of fresh) if (event.EventId) seen.add(event.EventId);
  return fresh.reverse();
}

/** Polls the stack's events until the operation ends; throws the signal's reason on Ctrl-C. */
export async function followStack(ctx: Context, options: FollowOptions): Promise<FollowOutcome> {
  const { ui } = ctx;
  const seen = new Set<string>();
  const events: StackEvent[] = [];
  const started = new Map<string, number>();
  const inProgress = new Map<string, number>();
  let done = 0;
  const verb = options.verb ?? "Deploying";
  const progress = options.quiet ? undefined : ui.progress(`${verb} ${options.stackName}`);
  const describe = (now: number) => {
    const running = [...inProgress.entries()].map(([id, since]) => `${id} ${formatSeconds(now - since)}`);
    const shown = running.slice(0, 3).join(", ") + (running.length > 3 ? ` +${running.length - 3}` : "");
    return `${verb} ${options.stackName}: ${done} done${shown ? `, in progress: ${shown}` : ""}`;
  };

  let status: string | undefined;
  try {
    for (;;) {
      for (const event of await newEvents(ctx, options, seen)) {
        events.push(event);
        const id = event.LogicalResourceId ?? "?";
        const time = event.Timestamp?.getTime() ?? ctx.clock.now();
        const resourceStatus = event.ResourceStatus ?? "";
        if (isStackEvent(event, options.stackName)) {
          if (isTerminalStackStatus(resourceStatus) && (options.isFinal?.(resourceStatus) ?? true)) status = resourceStatus;
          continue;
        }
        if (resourceStatus.endsWith("_IN_PROGRESS")) {
          if (!started.has(id)) started.set(id, time);
          inProgress.set(id, started.get(id)!);
          continue;
        }
        inProgress.delete(id);
        const elapsed = formatSeconds(time - (started.get(id) ?? time));
        started.delete(id);
        if (options.quiet) continue;
        if (resourceStatus.endsWith("_FAILED")) {
          const reason = event.ResourceStatusReason ?? "";
          if (!cancelledReason.test(reason)) ui.warn(`${id} ${resourceStatus} ${elapsed}${reason ? `: ${reason}` : ""}`);
        } else {
          done += 1;
          ui.info(`  ${ui.colors.green("✔")} ${id.padEnd(28)} ${ui.colors.dim(`${resourceStatus} ${elapsed}`)}`);
        }
      }
      if (status) break;
      progress?.update(describe(ctx.clock.now()));
      await ctx.clock.sleep(pollIntervalMs, ctx.signal);
    }
  } catch (error) {
    progress?.fail(`${verb} ${options.stackName}: stopped following`);
    throw error;
  }
  const reasons = isFailedStackStatus(status) ? rootCauses(events, options.stackName) : [];
  if (progress) {
    if (reasons.length > 0 || isFailedStackStatus(status)) progress.fail(`${options.stackName}: ${status}`);
    else progress.done(`${options.stackName}: ${status}`);
  }
  return { status: status!, reasons, events };
}
