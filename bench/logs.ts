/**
 * lamp logs vs `aws logs tail` (Debian's aws-cli v2), both reading the same history from the
 * same local CloudWatch Logs endpoint in the same run; and the formatter's cost against
 * printing messages untouched (--raw).
 *
 *   npm run bench:logs [-- --runs 3 --events 50000]
 *
 * Each figure is the median of --runs runs, printed next to its peer as a ratio.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import pc from "picocolors";
import { LogFormatter } from "../src/logs/format.js";
import type { LogEvent } from "../src/logs/events.js";
import { awsCli, flag, lampBin, repo } from "./common.js";


const runs = flag("runs", 3);
const eventCount = flag("events", 50_000);
const pageSize = 10_000; // FilterLogEvents returns at most 10,000 events a page.
const groupName = "/aws/lambda/bench-WebFunction";
const now = Date.now();

/** A busy Bref function's log: requests of START, app lines, a warning now and then, END, REPORT. */
function makeEvents(count: number): LogEvent[] {
  const events: LogEvent[] = [];
  let request = 0;
  while (events.length < count) {
    request += 1;
    const id = `${request.toString(16).padStart(8, "0")}-9340-4f3e-b47d-1e2757f797e1`;
    const stream = `2026/01/01/[$LATEST]${(request % 8).toString(16).padStart(32, "0")}`;
    const lines = [
      `START RequestId: ${id} Version: $LATEST\n`,
      `[2026-01-01T10:00:00.000000+00:00] app.INFO: GET /products/${request} {"user":${request % 97}} []\n`,
      ...(request % 10 === 0 ? [`NOTICE: PHP message: PHP Warning:  Undefined array key "size" in /var/task/src/Cart.php on line 42\n`] : []),
      `END RequestId: ${id}\n`,
      `REPORT RequestId: ${id}\tDuration: ${(request % 50) + 3}.12 ms\tBilled Duration: ${(request % 50) + 4} ms\tMemory Size: 1024 MB\tMax Memory Used: 81 MB\t\n`,
    ];
    for (const message of lines) {
      const timestamp = now - 3_600_000 + events.length * 10;
      events.push({ eventId: String(events.length), timestamp, logStream: stream, message });
    }
  }
  return events.slice(0, count);
}

const events = makeEvents(eventCount);

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function startEndpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  const wire = events.map((event) => ({ eventId: event.eventId, timestamp: event.timestamp, ingestionTime: event.timestamp + 500, logStreamName: event.logStream, message: event.message }));
  const server = createServer(async (request, response) => {
    const target = String(request.headers["x-amz-target"] ?? "");
    const body = await readBody(request);
    const reply = (payload: unknown) => {
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify(payload));
    };
    if (target.endsWith(".DescribeLogGroups")) return reply({ logGroups: [{ logGroupName: groupName, arn: `arn:aws:logs:eu-west-1:000000000000:log-group:${groupName}:*` }] });
    if (target.endsWith(".FilterLogEvents")) {
      const offset = Number(body.nextToken ?? 0);
      const next = offset + pageSize;
      return reply({ events: wire.slice(offset, next), ...(next < wire.length ? { nextToken: String(next) } : {}) });
    }
    response.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
    response.end(JSON.stringify({ __type: "UnknownOperationException" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs a command to completion, its output read and thrown away; returns seconds and output lines. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines += 1;
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.slice(-500)}`));
      else resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, lines });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function formatterThroughput(format: "pretty" | "raw" | "json"): number {
  const started = process.hrtime.bigint();
  const formatter = new LogFormatter({ format, colors: pc.createColors(true), now, timeZone: "UTC" });
  let lines = 0;
  for (const event of events) lines += formatter.format(event).length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (lines === 0) throw new Error("the formatter printed nothing");
  return events.length / seconds;
}

async function main(): Promise<void> {
  if (!existsSync(awsCli) || spawnSync(awsCli, ["--version"]).status !== 0) {
    console.error(`The peer, ${awsCli} (aws-cli v2), is missing: run \`bash scripts/setup.sh --bench\` first.`);
    process.exit(1);
  }
  const endpoint = await startEndpoint();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: "1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_REGION: "eu-west-1",
    AWS_PAGER: "",
  };
  console.log(`History of ${eventCount.toLocaleString("en")} events (${Math.ceil(eventCount / pageSize)} pages) from a local endpoint, median of ${runs} runs:`);
  try {
    const lamp: number[] = [];
    const aws: number[] = [];
    let lampLines = 0;
    let awsLines = 0;
    for (let run = 0; run < runs; run += 1) {
      const mine = await timed(process.execPath, [lampBin, "logs", "--log-group", groupName, "--since", "1d", "--endpoint-url", endpoint.url], env);
      const peer = await timed(awsCli, ["logs", "tail", groupName, "--since", "1d", "--format", "short", "--endpoint-url", endpoint.url], env);
      lamp.push(mine.seconds);
      aws.push(peer.seconds);
      lampLines = mine.lines;
      awsLines = peer.lines;
    }
    const lampSeconds = median(lamp);
    const awsSeconds = median(aws);
    console.log(`  lamp logs            ${lampSeconds.toFixed(2)} s   (${lampLines.toLocaleString("en")} lines: START/END folded)`);
    console.log(`  aws logs tail        ${awsSeconds.toFixed(2)} s   (${awsLines.toLocaleString("en")} lines)`);
    console.log(`  ratio lamp / aws     ${(lampSeconds / awsSeconds).toFixed(2)}x the time (lower is faster)`);
  } finally {
    await endpoint.close();
  }

  console.log(`\nFormatter alone, ${eventCount.toLocaleString("en")} events, in this process, median of ${runs} runs:`);
  const pretty = median(Array.from({ length: runs }, () => formatterThroughput("pretty")));
  const json = median(Array.from({ length: runs }, () => formatterThroughput("json")));
  const raw = median(Array.from({ length: runs }, () => formatterThroughput("raw")));
  console.log(`  pretty               ${Math.round(pretty).toLocaleString("en")} events/s`);
  console.log(`  --json               ${Math.round(json).toLocaleString("en")} events/s`);
  console.log(`  --raw (untouched)    ${Math.round(raw).toLocaleString("en")} events/s`);
  console.log(`  ratio pretty / raw   ${(pretty / raw).toFixed(2)}x the throughput`);
}

await main();
