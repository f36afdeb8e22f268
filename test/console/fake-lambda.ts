import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the two AWS APIs `lamp run --remote` calls, speaking their wire formats:
 * Lambda's Invoke (POST /2015-03-31/functions/<name>/invocations; X-Amz-Function-Error,
 * X-Amz-Log-Result, the payload) and CloudWatch Logs' FilterLogEvents (JSON 1.1). Behind Invoke is
 * Bref's console runtime as its source describes it: `php <handler> <event string> 2>&1` run
 * through a shell in the code folder, output echoed to the log as it comes, `{exitCode, output}`
 * with the last 5 MB on success, a CommandFailed error whose message is that output otherwise.
 */

export interface LogEvent {
  eventId: string;
  timestamp: number;
  logStreamName: string;
  message: string;
}

export interface FakeLambda {
  endpoint: string;
  events: LogEvent[];
  invocations: { functionName: string; payload: string; authorization?: string; respondedAt?: number }[];
  /** When set, the next invocation runs, then its connection is dropped instead of answered (a network failure). */
  dropNextAnswer: boolean;
  close(): Promise<void>;
}

const outputLimit = 5 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

/** Sends a request this fake does not serve on to `target` (another local server behind the same endpoint), untouched. */
function passOn(target: string, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", target);
  // The Host header stays as signed (Signature Version 4 covers it).
  const upstream = httpRequest(url, { method: request.method, headers: request.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on("error", () => response.destroy());
  request.pipe(upstream);
}

/**
 * `passThrough`: the URL of another local server (s3rver) that gets every request this fake does not
 * serve, so that one endpoint URL (--endpoint-url) serves a whole command, such as a deploy with release commands.
 */
export async function startFakeLambda(options: { codeRoot: string; env?: NodeJS.ProcessEnv; handler?: string; passThrough?: string }): Promise<FakeLambda> {
  const events: LogEvent[] = [];
  const invocations: FakeLambda["invocations"] = [];
  let counter = 0;
  const log = (logStreamName: string, message: string) => events.push({ eventId: String((counter += 1)), timestamp: Date.now(), logStreamName, message });

  const invokeConsole = async (event: string, stream: string, requestId: string) => {
    log(stream, `START RequestId: ${requestId} Version: $LATEST\n`);
    const child = spawn("/bin/sh", ["-c", `php ${options.handler ?? "lamp/console.php"} ${event} 2>&1`], { cwd: options.codeRoot, env: { ...process.env, ...options.env, BREF_RUNTIME: "console" }, stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (output.length > outputLimit * 2) output = output.slice(-outputLimit);
      // Lambda makes one log event of each line the runtime echoes.
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) log(stream, `${line}\n`);
    });
    const exitCode = await new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? 1)));
    if (partial) log(stream, `${partial}\n`);
    log(stream, `END RequestId: ${requestId}\n`);
    log(stream, `REPORT RequestId: ${requestId}\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 1024 MB\tMax Memory Used: 80 MB\n`);
    return { exitCode, output: output.length > outputLimit ? output.slice(-outputLimit) : output };
  };

  const server: Server = createServer(async (request, response) => {
    const invokePath = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url ?? "");
    const target = String(request.headers["x-amz-target"] ?? "");
    if (options.passThrough && !(request.method === "POST" && invokePath) && !target.endsWith(".FilterLogEvents")) return passOn(options.passThrough, request, response);
    const body = await readBody(request);
    if (request.method === "POST" && invokePath) {
      const functionName = decodeURIComponent(invokePath[1]!);
      const record: FakeLambda["invocations"][number] = { functionName, payload: body, authorization: request.headers.authorization };
      invocations.push(record);
      const requestId = randomUUID();
      const stream = `2026/12/05/[$LATEST]${randomUUID().replaceAll("-", "")}`;
      const event = JSON.parse(body) as string;
      const { exitCode, output } = await invokeConsole(event, stream, requestId);
      const tail = Buffer.from(events.filter((candidate) => candidate.logStreamName === stream).map((candidate) => candidate.message).join("").slice(-4096)).toString("base64");
      const headers: Record<string, string> = { "content-type": "application/json", "x-amzn-requestid": requestId, "x-amz-executed-version": "$LATEST", "x-amz-log-result": tail };
      let payload: unknown = { exitCode, output };
      if (exitCode !== 0) {
        headers["x-amz-function-error"] = "Unhandled";
        payload = { errorType: "Bref\\ConsoleRuntime\\CommandFailed", errorMessage: output, stackTrace: [] };
      }
      record.respondedAt = Date.now();
      if (fake.dropNextAnswer) {
        fake.dropNextAnswer = false;
        request.socket.destroy();
        return;
      }
      if (response.destroyed || !response.socket || response.socket.destroyed) return;
      response.writeHead(200, headers);
      response.end(JSON.stringify(payload));
      return;
    }
    if (target.endsWith(".FilterLogEvents")) {
      const query = JSON.parse(body) as { startTime?: number; logStreamNames?: string[]; filterPattern?: string; nextToken?: string };
      const needle = query.filterPattern?.replace(/^"|"$/g, "");
      const matching = events.filter(
        (event) => event.timestamp >= (query.startTime ?? 0) && (!query.logStreamNames || query.logStreamNames.includes(event.logStreamName)) && (!needle || event.message.includes(needle)),
      );
      // Pages of 100, as a small limit makes lamp follow nextToken.
      const start = Number(query.nextToken ?? 0);
      const page = matching.slice(start, start + 100);
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify({ events: page, ...(start + 100 < matching.length ? { nextToken: String(start + 100) } : {}) }));
      return;
    }
    response.writeHead(501, { "content-type": "application/json" });
    response.end(JSON.stringify({ message: `not implemented: ${request.method} ${request.url} ${target}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake: FakeLambda = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    invocations,
    dropNextAnswer: false,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
