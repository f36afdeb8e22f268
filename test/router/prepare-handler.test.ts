import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareHandler, routerHandler } from "../../src/router/router.js";
import { runLamp } from "../helpers/run-lamp.js";

/** lamp dev and lamp deploy make the function's handler ready through one function, with one message for each failure. */
describe("prepareHandler", () => {
  let scratch: string;
  const lines: string[] = [];
  const ui = { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };

  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-handler-"));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("refuses a front-controller handler that is missing or a folder, naming lamp.json's handler", async () => {
    const root = path.join(scratch, "front");
    mkdirSync(path.join(root, "public", "index.php"), { recursive: true });
    const config = { router: false, handler: "public/index.php", documentRoot: "public" };
    await expect(prepareHandler(root, config, ui)).rejects.toMatchObject({ code: "config", message: `lamp.json handler "public/index.php": no such file in ${root}.` });
    await expect(prepareHandler(root, { ...config, handler: "public/app.php" }, ui)).rejects.toMatchObject({ code: "config" });
  });

  it("in router mode refuses a missing document root before writing anything, else writes the router once", async () => {
    const root = path.join(scratch, "router");
    mkdirSync(root);
    const config = { router: true, handler: "public/index.php", documentRoot: "public" };
    await expect(prepareHandler(root, config, ui)).rejects.toMatchObject({ code: "config", message: expect.stringContaining('documentRoot "public"') });
    expect(existsSync(path.join(root, routerHandler))).toBe(false);

    mkdirSync(path.join(root, "public"));
    await expect(prepareHandler(root, config, ui)).resolves.toBe(routerHandler);
    expect(existsSync(path.join(root, routerHandler))).toBe(true);
    expect(lines.filter((line) => line.startsWith(`Wrote ${routerHandler}`))).toHaveLength(1);
    await expect(prepareHandler(root, config, ui)).resolves.toBe(routerHandler);
    expect(lines.filter((line) => line.startsWith(`Wrote ${routerHandler}`))).toHaveLength(1);
  });

  it("gives lamp dev and lamp deploy the same one-line refusal for a missing handler (exit 3)", async () => {
    const root = path.join(scratch, "shop");
    expect((await runLamp(["init", root, "--yes"])).code).toBe(0);
    rmSync(path.join(root, "public", "index.php"));
    const dev = await runLamp(["dev", "--port", "0"], { cwd: root });
    const deploy = await runLamp(["deploy", "--yes"], { cwd: root, env: { AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y", AWS_ENDPOINT_URL: "http://127.0.0.1:9" } });
    const refusal = `lamp.json handler "public/index.php": no such file in ${root}.`;
    for (const run of [dev, deploy]) {
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toContain(refusal);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
