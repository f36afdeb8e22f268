import { systemClock } from "../../src/core/clock.js";
import type { ApiGatewayV2Event } from "../../src/dev/event.js";
import { FastCgiClient } from "../../src/dev/fastcgi/client.js";
import { eventToFastCgiRequest } from "../../src/dev/fastcgi-params.js";
import { startPhpFpm, type PhpFpmProcess } from "../../src/dev/php-fpm.js";
import { parseCgiResponse } from "../../src/dev/response.js";

/**
 * A real php-fpm with nothing of lamp dev in front: what Bref's FPM runtime does in Lambda, an
 * API Gateway event turned into the FastCGI request it sends to its one worker. For tests of the
 * PHP that lamp ships (runtime layer, router) as it runs in AWS.
 */

export interface BrefAnswer {
  status: number;
  body: string;
  headers: [string, string][];
}

export interface BrefFpm {
  /** Runs `handler` (an absolute path) for the event, as Bref's FpmHandler would. */
  invoke(event: ApiGatewayV2Event, handler: string): Promise<BrefAnswer>;
  stop(): Promise<void>;
}

export async function startBrefFpm(options: { binary: string; root: string; env: NodeJS.ProcessEnv; iniScanDirs?: string[] }): Promise<BrefFpm> {
  const fpm: PhpFpmProcess = await startPhpFpm({
    binary: options.binary,
    // One worker, as Bref runs: each request after the first reuses the worker of the one before.
    workers: 1,
    cwd: options.root,
    env: options.env,
    iniScanDirs: options.iniScanDirs,
    clock: systemClock,
    onLog: () => {},
    onExit: () => {},
  });
  const client = new FastCgiClient({ socketPaths: fpm.socketPaths });
  return {
    async invoke(event, handler) {
      const request = eventToFastCgiRequest(event, handler, {
        awsRequestId: "r",
        deadlineMs: Date.now() + 10_000,
        invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:site",
        traceId: "t",
      });
      const response = parseCgiResponse((await client.request({ params: request.params, body: request.body, timeoutMs: 10_000 })).stdout);
      const status = response.headers.find(([name]) => name.toLowerCase() === "status")?.[1];
      return { status: status ? Number.parseInt(status, 10) : 200, body: response.body.toString("utf8"), headers: response.headers };
    },
    async stop() {
      client.close();
      await fpm.stop();
    },
  };
}

/** A GET as API Gateway hands it to the function: `rawPath` on the API's own domain, with `headers` (host included). */
export function gatewayGetEvent(options: { rawPath: string; apiId: string; domainName: string; headers: Record<string, string>; sourceIp: string }): ApiGatewayV2Event {
  return {
    version: "2.0",
    routeKey: "ANY /{proxy+}",
    rawPath: options.rawPath,
    rawQueryString: "",
    headers: options.headers,
    requestContext: {
      accountId: "123456789012",
      apiId: options.apiId,
      domainName: options.domainName,
      domainPrefix: options.apiId,
      http: { method: "GET", path: options.rawPath, protocol: "HTTP/1.1", sourceIp: options.sourceIp, userAgent: "test" },
      requestId: "abc",
      routeKey: "ANY /{proxy+}",
      stage: "$default",
      time: "28/Nov/2026:19:00:00 +0000",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}
