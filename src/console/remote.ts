import { randomUUID } from "node:crypto";
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { describeAwsError } from "../core/aws-errors.js";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { CancelledError, LampError } from "../core/errors.js";
import { describeStack } from "../project/stack-outputs.js";
import { consolePayload } from "../project/command-line.js";
import { ConsoleOutput, consoleTimeout } from "./apply-console.js";

/**
 * `lamp run --remote`: one synchronous invocation of the console function, its output shown live
 * from the function's log while it runs, its exit code returned.
 */

export interface RemoteRunResult {
  exitCode: number;
  output: string;
  requestId?: string;
  durationMs: number;
  /** Bref returns the last 5 MB of the output only. */
  truncated: boolean;
}

/** How often the log is read while the command runs. */
const pollMs = 1000;

export interface ConsoleTarget {
  region: string;
  functionName: string;
  logGroup: string;
}

/** The deployed console function, from the stack's outputs. */
async function consoleTarget(project: Project, ctx: Context): Promise<ConsoleTarget> {
  const { config } = project;
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = await describeStack(ctx, config.stackName, region);
  if (!stack) throw new LampError("not-found", `Stack "${config.stackName}" does not exist in ${region} yet.`, "Run `lamp deploy` first.");
  const output = (key: string) => stack.Outputs?.find((candidate) => candidate.OutputKey === key)?.OutputValue;
  const functionName = output(ConsoleOutput.functionName);
  if (!functionName) {
    throw new LampError("stack-state", `${config.stackName} has no console function yet (deployed by an older lamp).`, "Run `lamp deploy`: it adds the console function.");
  }
  return { region, functionName, logGroup: output(ConsoleOutput.logGroup) ?? `/aws/lambda/${functionName}` };
}

/** What lamp reads of Lambda's answer to one synchronous Invoke. */
export interface InvokeResponse {
  statusCode: number;
  requestId?: string;
  /** `Unhandled` when the function threw (a Bref console command that exited non-zero). */
  functionError?: string;
  /** The answer's body: Bref's `{exitCode, output}`, or the function's error. */
  payload: string;
}

/**
 * Invokes the console function once and waits for its end, however long the function may run: the
 * call keeps its socket open for the function's whole timeout plus a margin (never a retry: see
 * longCallMs). Rejects with the abort reason on Ctrl-C (ctx.signal reaches every call).
 */
async function invokeConsole(ctx: Context, target: ConsoleTarget, payload: string, timeoutSeconds: number): Promise<InvokeResponse> {
  const lambda = ctx.aws.client(LambdaClient, { region: target.region, longCallMs: (timeoutSeconds + 60) * 1000 });
  const answer = await lambda.send(new InvokeCommand({ FunctionName: target.functionName, InvocationType: "RequestResponse", LogType: "Tail", Payload: Buffer.from(payload) }), { abortSignal: ctx.signal });
  return {
    statusCode: answer.StatusCode ?? 0,
    requestId: answer.$metadata.requestId,
    functionError: answer.FunctionError,
    payload: answer.Payload ? Buffer.from(answer.Payload).toString("utf8") : "",
  };
}

/** The command's result from Bref's answer: `{exitCode, output}`, or a CommandFailed error whose message is the output. */
function commandOutcome(response: InvokeResponse, marker: string): { exitCode: number; output: string; truncated: boolean } | { error: string } {
  let body: { exitCode?: number; output?: string; errorType?: string; errorMessage?: string };
  try {
    body = JSON.parse(response.payload) as typeof body;
  } catch {
    return { error: `Lambda answered ${response.statusCode} with ${response.payload.slice(0, 200)}` };
  }
  const raw = response.functionError ? body.errorMessage ?? "" : body.output ?? "";
  const exitLine = `\nlamp-run ${marker} exit `;
  const at = raw.lastIndexOf(exitLine);
  if (at < 0 || (response.functionError && !/CommandFailed/.test(body.errorType ?? ""))) {
    if (!response.functionError && typeof body.exitCode === "number") return { exitCode: body.exitCode, output: raw, truncated: false };
    return { error: `${body.errorType ?? response.functionError ?? "Error"}: ${body.errorMessage ?? response.payload.slice(0, 500)}` };
  }
  const exitCode = Number.parseInt(raw.slice(at + exitLine.length), 10);
  const head = `lamp-run ${marker}\n`;
  const truncated = !raw.startsWith(head);
  return { exitCode, output: raw.slice(truncated ? 0 : head.length, at), truncated };
}

export async function runRemote(options: { project: Project; args: string[] }, ctx: Context): Promise<RemoteRunResult> {
  if (options.args.some((arg) => arg.includes("\0"))) throw new LampError("usage", "An argument contains a NUL character, which no command line can carry.", "Remove it.");
  const target = await consoleTarget(options.project, ctx);
  const logs = ctx.aws.client(CloudWatchLogsClient, { region: target.region });
  const marker = randomUUID();
  const timeoutSeconds = consoleTimeout(options.project.config);
  const started = ctx.clock.now();
  ctx.ui.note(`Running ${options.args.join(" ")} in ${target.functionName} (${target.region})…`);
  const following = new AbortController();
  // The function's own timeout decides, never the client's: a 14-minute migration gets its answer.
  const invocation = invokeConsole(ctx, target, consolePayload(options.args, marker), timeoutSeconds).finally(() => following.abort());
  const show = (line: string) => (ctx.ui.json ? ctx.ui.note(line) : ctx.ui.out(line));
  const live = followInvocation(ctx, logs, { logGroup: target.logGroup, marker, since: started - 5000, signal: following.signal, show });
  let response: InvokeResponse;
  try {
    response = await invocation;
  } catch (error) {
    await live.catch(() => 0);
    if (ctx.signal.aborted) {
      throw new CancelledError(
        `Stopped waiting, but the command goes on in Lambda until it ends (at most ${timeoutSeconds} s). ` +
          `Follow it with: lamp logs -f --log-group ${target.logGroup}`,
      );
    }
    const described = describeAwsError(error, ctx.aws.settings);
    throw new LampError(
      described?.code ?? "aws",
      `Could not invoke ${target.functionName}: ${described?.message ?? (error as Error).message}`,
      described?.hint ?? `Check your network, then \`lamp logs --log-group ${target.logGroup}\` for what ran.`,
      { cause: error },
    );
  }
  const shownLines = await live.catch(() => 0);
  const outcome = commandOutcome(response, marker);
  if ("error" in outcome) {
    throw new LampError("failed", `The command did not finish in Lambda: ${outcome.error}`, `If it ran out of time, raise console.timeout in lamp.json (now ${timeoutSeconds} s, at most 900). Its log: lamp logs --log-group ${target.logGroup}`);
  }
  // What the log did not show live (it lags, or could not be read): the rest of the output.
  const lines = outcome.output.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines.slice(shownLines)) show(line);
  if (outcome.truncated) ctx.ui.warn(`The output was cut to its last 5 MB by Bref's console runtime; all of it is in the log: lamp logs --log-group ${target.logGroup}`);
  return { exitCode: outcome.exitCode, output: outcome.output, requestId: response.requestId, durationMs: ctx.clock.now() - started, truncated: outcome.truncated };
}

const lambdaLine = /^(START|END|REPORT|INIT_START|EXTENSION|TELEMETRY) /;

/**
 * Shows the invocation's output from the log as it arrives: finds the stream whose output begins
 * with this run's marker, then prints that stream's lines after it until the invocation ends.
 * Returns how many output lines it showed. A log it cannot read is not an error: the output comes
 * with the answer anyway.
 */
async function followInvocation(
  ctx: Context,
  logs: CloudWatchLogsClient,
  options: { logGroup: string; marker: string; since: number; signal: AbortSignal; show(line: string): void },
): Promise<number> {
  let shown = 0;
  let stream: { name: string; from: number } | undefined;
  const seen = new Set<string>();
  const exitPrefix = `lamp-run ${options.marker} exit `;
  let pendingBlank = false;
  try {
    while (!options.signal.aborted) {
      if (!stream) {
        const { events } = await logs.send(new FilterLogEventsCommand({ logGroupName: options.logGroup, startTime: options.since, filterPattern: `"lamp-run ${options.marker}"` }), { abortSignal: options.signal });
        const first = events?.find((event) => event.message?.trim() === `lamp-run ${options.marker}`);
        if (first?.logStreamName) stream = { name: first.logStreamName, from: first.timestamp ?? options.since };
        if (first?.eventId) seen.add(first.eventId);
      }
      if (stream) {
        let nextToken: string | undefined;
        do {
          const page = await logs.send(new FilterLogEventsCommand({ logGroupName: options.logGroup, logStreamNames: [stream.name], startTime: stream.from, nextToken }), { abortSignal: options.signal });
          nextToken = page.nextToken;
          for (const event of page.events ?? []) {
            if (!event.eventId || seen.has(event.eventId)) continue;
            seen.add(event.eventId);
            const message = event.message ?? "";
            if (lambdaLine.test(message) || message.trim() === `lamp-run ${options.marker}`) continue;
            for (const line of message.replace(/\n$/, "").split("\n")) {
              if (line.startsWith(exitPrefix)) return shown;
              // The handler adds a newline before its exit line: held back until more output follows.
              if (pendingBlank) {
                options.show("");
                shown += 1;
              }
              pendingBlank = line === "";
              if (!pendingBlank) {
                options.show(line);
                shown += 1;
              }
            }
          }
        } while (nextToken && !options.signal.aborted);
      }
      await ctx.clock.sleep(pollMs, options.signal);
    }
  } catch (error) {
    if (!options.signal.aborted) ctx.ui.debug(`Could not read ${options.logGroup} while the command ran: ${(error as Error).message}`);
  }
  return shown;
}
