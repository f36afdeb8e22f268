import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiGatewayV2Event } from "../../src/dev/event.js";
import { bundledRouterPath } from "../../src/router/router.js";
import { phpFpmForTests } from "../dev/helpers.js";
import { gatewayGetEvent, startBrefFpm, type BrefFpm } from "../helpers/bref-fpm.js";

/**
 * The router as Lambda runs it: the FastCGI request Bref builds from an API Gateway event, straight
 * to php-fpm, with nothing of lamp dev in front (lamp dev refuses some paths before PHP; in AWS only
 * the router stands between a path and a script).
 */

const phpFpm = phpFpmForTests();

function event(rawPath: string): ApiGatewayV2Event {
  return gatewayGetEvent({ rawPath, apiId: "api", domainName: "api.example", headers: { host: "api.example" }, sourceIp: "130.176.1.2" });
}

describe.skipIf(!phpFpm)("the router under php-fpm, as Bref runs it", () => {
  let root: string;
  let fpm: BrefFpm;

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), "lamp-router-fpm-")));
    mkdirSync(path.join(root, "public"));
    writeFileSync(path.join(root, "public", "index.php"), "<?php echo 'front';\n");
    writeFileSync(path.join(root, "public", "wp-config.php"), "<?php echo 'wp-config-ran';\n");
    // The router as the project holds it (lamp/router.php), its handler.
    mkdirSync(path.join(root, "lamp"), { recursive: true });
    writeFileSync(path.join(root, "lamp", "router.php"), readFileSync(bundledRouterPath));
    fpm = await startBrefFpm({ binary: phpFpm!, root, env: { PATH: process.env.PATH, LAMP_DOCUMENT_ROOT: "public" } });
  });

  afterAll(async () => {
    await fpm?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function send(rawPath: string): Promise<{ status: number; body: string }> {
    const { status, body } = await fpm.invoke(event(rawPath), path.join(root, "lamp", "router.php"));
    return { status, body };
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
