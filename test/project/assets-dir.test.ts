import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../helpers/cli-in-process.js";

/**
 * Issue 9 item 6: an `assets.dir` that would publish the code or something outside the project
 * is refused when lamp.json is read — by every command, before it serves, uploads or calls AWS.
 */
let project: string;
beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), "lamp-assets-dir-"));
  await mkdir(path.join(project, "public"));
  await writeFile(path.join(project, "public", "index.php"), "<?php echo 'secret source';\n");
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe.each([".", "..", "/etc", "public"])("assets.dir %j", (dir) => {
  it.each([
    ["dev", "--port", "0"],
    ["sync-assets"],
    ["sync-assets", "--dry-run"],
    ["deploy", "--yes"],
    ["info"],
    ["destroy", "--yes"],
    ["logs"],
  ])("lamp %s exits 3 naming assets.dir", async (...command) => {
    await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "shop", region: "eu-west-1", assets: { dir } }));
    const run = await runCliInProcess(["--endpoint-url", "http://127.0.0.1:9", ...command], {
      cwd: project,
      env: { AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x", PATH: process.env.PATH },
    });
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stderr).toContain(`lamp.json: assets.dir ${JSON.stringify(dir)}`);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
