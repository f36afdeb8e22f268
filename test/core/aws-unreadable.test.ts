import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLamp } from "../helpers/run-lamp.js";

/** An answer the SDK cannot parse (a proxy's HTML page): the user gets the call, the endpoint and the status. */
let server: Server;
let endpointUrl: string;
let project: string;
let answer = { status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" };

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(answer.status, { "content-type": "text/html" });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project = await mkdtemp(path.join(tmpdir(), "lamp-aws-unreadable-"));
  await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "demo", region: "eu-west-1" }));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(project, { recursive: true, force: true });
});

describe("an AWS answer the SDK cannot read", () => {
  it.each([
    // CloudFormation (XML): the SDK calls it "Unknown: Unknown".
    [502, "<html><body><h1>502 Bad Gateway</h1></body></html>", ["info"], "DescribeStacks"],
    // CloudWatch Logs (JSON): "Deserialization error: to see the raw response, inspect the hidden field {error}.$response".
    [200, "<html><body>Welcome to the captive portal</body></html>", ["logs", "--log-group", "/aws/lambda/x"], "DescribeLogGroups"],
  ])("HTTP %i with HTML is one line naming the call, the endpoint and the status, not the SDK's internals", async (status, body, argv, call) => {
    answer = { status, body };
    const run = await runLamp([...argv, "--endpoint-url", endpointUrl], {
      cwd: project,
      env: { HOME: project, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `✖ AWS answered ${call} at ${endpointUrl} with a response lamp could not read (HTTP ${status}).\n  Is the endpoint an AWS API (or an emulator of it)?\n`,
    );
    expect(run.stderr).not.toMatch(/\$response|hidden field/);
  });
});
