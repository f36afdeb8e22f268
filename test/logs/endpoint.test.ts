import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clientConfig } from "../../src/core/aws.js";
import { logs } from "../../src/logs/logs.js";
import { createFakeClock, createTestContext } from "../helpers/context.js";
import { lampBin } from "../helpers/run-lamp.js";

/**
 * A local CloudWatch Logs endpoint that implements DescribeLogGroups and FilterLogEvents but
 * not StartLiveTail, as emulators do. The real SDK talks to it, so what is checked here is
 * what goes over the wire, not what a mock accepts.
 */
interface Seen {
  target: string;
  host: string;
  body: Record<string, unknown>;
}

let server: Server;
let endpointUrl: string;
const seen: Seen[] = [];
let onFilter: () => void = () => {};
const now = Date.UTC(2026, 0, 1, 12);

async function body(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const target = String(request.headers["x-amz-target"] ?? "");
    seen.push({ target, host: String(request.headers.host), body: await body(request) });
    const reply = (status: number, payload: unknown) => {
      response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify(payload));
    };
    if (target.endsWith(".DescribeLogGroups")) return reply(200, { logGroups: [{ logGroupName: "/aws/lambda/app", arn: "arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/app:*" }] });
    if (target.endsWith(".FilterLogEvents")) {
      onFilter();
      const request = seen.at(-1)!.body;
      if (request.filterPattern === "many") {
        // Pages of 2,000 lines: far more than a pipe holds.
        const page = Number(request.nextToken ?? 0);
        const events = Array.from({ length: 2000 }, (_, index) => ({ eventId: `${page}-${index}`, timestamp: now - 100_000 + page * 2000 + index, logStreamName: "s", message: `line ${page}-${index}\n` }));
        return reply(200, { events, ...(page < 20 ? { nextToken: String(page + 1) } : {}) });
      }
      return reply(200, { events: [{ eventId: "1", timestamp: now - 1000, logStreamName: "s", message: "NOTICE: PHP message: PHP Warning:  hello\n" }] });
    }
    response.writeHead(501, { "content-type": "text/html" });
    response.end("<!doctype html><title>501</title>\n<p>The start_live_tail action has not been implemented</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => server.close(resolve));
});

describe("lamp logs -f against an endpoint without Live Tail", () => {
  it("calls StartLiveTail on the endpoint's own host, then polls and says so", async () => {
    const ctx = createTestContext({ clock: createFakeClock(now), aws: { region: "eu-west-1", endpointUrl } });
    let filters = 0;
    onFilter = () => {
      filters += 1;
      if (filters === 2) ctx.controller.abort();
    };

    const result = await logs({ follow: true, format: "pretty", logGroup: "/aws/lambda/app", timeZone: "UTC" }, ctx);

    const liveTail = seen.find((request) => request.target.endsWith(".StartLiveTail"));
    // No "streaming." host prefix: 127.0.0.1 has no sub-domains.
    expect(liveTail?.host).toBe(new URL(endpointUrl).host);
    expect(liveTail?.body).toEqual({ logGroupIdentifiers: ["arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/app"] });
    expect(ctx.ui.texts("warn")).toEqual([`Live Tail unavailable: ${endpointUrl} does not implement it. Polling /aws/lambda/app every 2s instead · Ctrl-C to stop`]);
    expect(ctx.ui.texts("out").flatMap((text) => text.split("\n"))).toEqual(["11:59:59.000           PHP Warning: hello"]);
    expect(result).toMatchObject({ mode: "polling", interrupted: true });
  });

  it("CloudWatch Logs clients made for a custom endpoint skip host prefixes", () => {
    expect(clientConfig("CloudWatchLogsClient", { endpointUrl: "http://127.0.0.1:4566" }).disableHostPrefix).toBe(true);
    expect(clientConfig("CloudWatchLogsClient", {}).disableHostPrefix).toBeUndefined();
  });

  it("`lamp logs | head -1` (the built bin) stops quietly with exit 0 when the reader goes away", async () => {
    const child = spawn(process.execPath, [lampBin, "logs", "--log-group", "/aws/lambda/app", "--since", "1d", "--filter", "many", "--raw"], {
      env: { PATH: process.env.PATH, NO_COLOR: "1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: endpointUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const firstChunk = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8"))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(firstChunk.split("\n")[0]).toBe("line 0-0");
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it("Ctrl-C ends `lamp logs -f` (the built bin) cleanly: exit 0, no error printed", async () => {
    const child = spawn(process.execPath, [lampBin, "logs", "-f", "--log-group", "/aws/lambda/app"], {
      env: { PATH: process.env.PATH, NO_COLOR: "1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: endpointUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Polling has begun once the fallback is announced (a warning: stderr) and a line is shown (stdout).
    await new Promise<void>((resolve) => {
      const check = () => {
        if (stderr.includes("Polling /aws/lambda/app") && stdout.includes("PHP Warning: hello")) resolve();
      };
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => ((stderr += chunk), check()));
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => ((stdout += chunk), check()));
    });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/✖|Error/);
  });
});
