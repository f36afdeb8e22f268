import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { S3Client } from "@aws-sdk/client-s3";
import { createAwsClients, endpointOfError } from "../../src/core/aws.js";
import { lampBin } from "../helpers/run-lamp.js";

/**
 * An AWS endpoint that accepts connections and never answers: the case that used to keep
 * `lamp info` waiting for ever. Real sockets, the real SDK, the built CLI.
 */
let server: Server;
let endpointUrl: string;
let connections = 0;
const sockets = new Set<Socket>();
let project: string;

beforeAll(async () => {
  server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    // Reads the request, says nothing.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project = await mkdtemp(path.join(tmpdir(), "lamp-aws-timeouts-"));
  await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "demo", region: "eu-west-1" }));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(project, { recursive: true, force: true });
});

beforeEach(() => {
  connections = 0;
});

function startLamp(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [lampBin, ...args], {
    cwd: project,
    env: { PATH: process.env.PATH, HOME: project, NO_COLOR: "1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited };
}

describe("an AWS endpoint that never answers", () => {
  it("times out each attempt, retries a bounded number of times, then says so in one line naming the endpoint", async () => {
    const { exited } = startLamp(["info", "--endpoint-url", endpointUrl], { LAMP_AWS_TIMEOUT_MS: "300" });
    const run = await exited;
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(`✖ No answer from AWS at ${endpointUrl} (timed out 3 times, 0.3 s of silence each).\n  Is the local endpoint running and answering?\n`);
    expect(connections).toBe(3);
  });

  it("with the default timeouts, a control-plane call is reported within 40 s (5 s of silence per attempt, three attempts)", async () => {
    const started = Date.now();
    const run = await startLamp(["info", "--endpoint-url", endpointUrl]).exited;
    const seconds = (Date.now() - started) / 1000;
    expect(run.stderr).toBe(`✖ No answer from AWS at ${endpointUrl} (timed out 3 times, 5 s of silence each).\n  Is the local endpoint running and answering?\n`);
    expect(run.code).toBe(4);
    expect(connections).toBe(3);
    expect(seconds).toBeGreaterThanOrEqual(15);
    expect(seconds).toBeLessThan(40);
  }, 60_000);

  it("uploads and log streams keep 30 s of silence per attempt: S3 and CloudWatch Logs clients", () => {
    const clients = createAwsClients({ endpointUrl });
    const handlerTimeout = async (client: { config: { requestHandler: unknown } }) => {
      const handler = client.config.requestHandler as { configProvider?: Promise<{ socketTimeout?: number }>; config?: { socketTimeout?: number } };
      return (await handler.configProvider)?.socketTimeout ?? handler.config?.socketTimeout;
    };
    return Promise.all([
      expect(handlerTimeout(clients.client(S3Client, { region: "eu-west-1" }))).resolves.toBe(30_000),
      expect(handlerTimeout(clients.client(CloudWatchLogsClient, { region: "eu-west-1" }))).resolves.toBe(30_000),
      expect(handlerTimeout(clients.client(CloudFormationClient, { region: "eu-west-1" }))).resolves.toBe(5_000),
    ]);
  });

  it("every client the factory builds has the timeouts and marks its errors with the endpoint it called", async () => {
    const clients = createAwsClients({ endpointUrl, timeoutMs: 200, profile: undefined });
    const cloudformation = clients.client(CloudFormationClient, { region: "eu-west-1" });
    cloudformation.config.credentials = async () => ({ accessKeyId: "test", secretAccessKey: "test" });
    const error = await cloudformation.send(new DescribeStacksCommand({ StackName: "demo" })).then(
      () => undefined,
      (failure: unknown) => failure as Record<string, unknown>,
    );
    expect(error?.name).toBe("TimeoutError");
    expect(error?.[endpointOfError]).toBe(endpointUrl);
    expect(error?.$metadata).toMatchObject({ attempts: 3 });
  });

  it("Ctrl-C while waiting for it exits 130, Interrupted, not an AWS error", async () => {
    const { child, exited } = startLamp(["info", "--endpoint-url", endpointUrl]);
    // The call is under way once the endpoint has its connection.
    while (connections === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill("SIGINT");
    const run = await exited;
    expect(run.stderr).toBe("✖ Interrupted.\n");
    expect(run.code).toBe(130);
  });

  it("a LAMP_AWS_TIMEOUT_MS that is not a number is a usage error naming it", async () => {
    const run = await startLamp(["info", "--endpoint-url", endpointUrl], { LAMP_AWS_TIMEOUT_MS: "soon" }).exited;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^✖ LAMP_AWS_TIMEOUT_MS "soon" is not a whole number of milliseconds\./);
    expect(connections).toBe(0);
  });
});
