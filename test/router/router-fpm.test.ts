import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import type { ApiGatewayV2Event } from "../../src/dev/event.js";
import { FastCgiClient } from "../../src/dev/fastcgi/client.js";
import { eventToFastCgiRequest } from "../../src/dev/fastcgi-params.js";
import { startPhpFpm, type PhpFpmProcess } from "../../src/dev/php-fpm.js";
import { parseCgiResponse } from "../../src/dev/response.js";
import { bundledRouterPath } from "../../src/router/router.js";
import { phpFpmForTests } from "../dev/helpers.js";

/**
 * The router as Lambda runs it: the FastCGI request Bref builds from an API Gateway event, straight
 * to php-fpm, with nothing of lamp dev in front (lamp dev refuses some paths before PHP; in AWS only
 * the router stands between a path and a script).
 */

const phpFpm = phpFpmForTests();

function event(rawPath: string): ApiGatewayV2Event {
  return {
    version: "2.0",
    routeKey: "ANY /{proxy+}",
    rawPath,
    rawQueryString: "",
    headers: { host: "api.example" },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example",
      domainPrefix: "api",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "130.176.1.2", userAgent: "test" },
      requestId: "abc",
      routeKey: "ANY /{proxy+}",
      stage: "$default",
      time: "28/Nov/2026:19:00:00 +0000",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

describe.skipIf(!phpFpm)("the router under php-fpm, as Bref runs it", () => {
  let root: string;
  let fpm: PhpFpmProcess;
  let client: FastCgiClient;

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), "lamp-router-fpm-")));
    mkdirSync(path.join(root, "public"));
    writeFileSync(path.join(root, "public", "index.php"), "<?php echo 'front';\n");
    writeFileSync(path.join(root, "public", "wp-config.php"), "<?php echo 'wp-config-ran';\n");
    fpm = await startPhpFpm({
      binary: phpFpm!,
      workers: 1,
      cwd: root,
      env: { PATH: process.env.PATH, LAMP_DOCUMENT_ROOT: "public" },
      clock: systemClock,
      onLog: () => {},
      onExit: () => {},
    });
    client = new FastCgiClient({ socketPaths: fpm.socketPaths });
  });

  afterAll(async () => {
    client?.close();
    await fpm?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function send(rawPath: string): Promise<{ status: number; body: string }> {
    // The router as the project holds it (lamp/router.php), its handler.
    mkdirSync(path.join(root, "lamp"), { recursive: true });
    writeFileSync(path.join(root, "lamp", "router.php"), readFileSync(bundledRouterPath));
    const request = eventToFastCgiRequest(event(rawPath), path.join(root, "lamp", "router.php"), {
      awsRequestId: "r",
      deadlineMs: Date.now() + 10_000,
      invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:site",
      traceId: "t",
    });
    const response = parseCgiResponse((await client.request({ params: request.params, body: request.body, timeoutMs: 10_000 })).stdout);
    const status = response.headers.find(([name]) => name.toLowerCase() === "status")?.[1];
    return { status: status ? Number.parseInt(status, 10) : 200, body: response.body.toString("utf8") };
  }

  it("answers 400 to a path with a NUL byte, which php-fpm would cut to /wp-config.php", async () => {
    for (const rawPath of ["/wp-config.php\0.css", "/index.php\0", "/a\0b"]) {
      const { status, body } = await send(rawPath);
      expect(status, JSON.stringify(rawPath)).toBe(400);
      expect(body).not.toContain("ran");
    }
    expect(await send("/wp-config.php")).toEqual({ status: 200, body: "wp-config-ran" });
    expect(await send("/anything")).toEqual({ status: 200, body: "front" });
  });
});
