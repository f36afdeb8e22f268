import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { createTestContext } from "../helpers/context.js";
import { copyFixtureApp, phpFpmForTests, rawRequest } from "../dev/helpers.js";
import { useLocalS3 } from "./s3-server.js";

/**
 * Issue 9 item 2: a symlink inside assets/ must not publish what its target's own name keeps
 * private. Both commands that read the folder get the same tree: `lamp sync-assets` against a
 * real S3-compatible server, `lamp dev` over real HTTP with a real php-fpm.
 */

const phpFpm = phpFpmForTests();
const s3 = useLocalS3([]);
let app: ReturnType<typeof copyFixtureApp>;

/** Links whose names look public but whose targets are not (the fixture excludes `drafts`). */
const privateLinks = {
  "app.txt": ".env",
  "g": ".git",
  "config.txt": ".git/config",
  "plan.txt": "drafts/plan.txt",
  "published": "drafts",
  "lamp.json": "../lamp.json",
  "passwd": "/etc/passwd",
};

beforeAll(() => {
  app = copyFixtureApp();
  const assets = path.join(app.root, "assets");
  writeFileSync(path.join(assets, ".env"), "DB_PASSWORD=hunter2\n");
  mkdirSync(path.join(assets, ".git"));
  writeFileSync(path.join(assets, ".git", "config"), "[remote] url = https://token@example.com\n");
  for (const [name, target] of Object.entries(privateLinks)) symlinkSync(target, path.join(assets, name));
  symlinkSync("readme.txt", path.join(assets, "public-link.txt"));
});
afterAll(() => app?.remove());

describe("symlinks to private files", () => {
  it("lamp sync-assets uploads none of them, and says why with --verbose", async () => {
    await s3.raw.send(new CreateBucketCommand({ Bucket: "links" }));
    const run = await runCliInProcess(
      ["--endpoint-url", s3.server.endpointUrl, "--region", "us-east-1", "--verbose", "sync-assets", "--bucket", "links", "--dir", "assets", "--no-invalidate"],
      { cwd: app.root },
    );
    expect(run.code, run.stderr).toBe(0);
    const keys = ((await s3.raw.send(new ListObjectsV2Command({ Bucket: "links" }))).Contents ?? []).map((object) => object.Key!);
    expect(keys).toContain("assets/public-link.txt");
    expect(keys).toContain("assets/readme.txt");
    for (const name of Object.keys(privateLinks)) {
      expect(keys.filter((key) => key === `assets/${name}` || key.startsWith(`assets/${name}/`)), name).toEqual([]);
    }
    const printed = run.stdout + run.stderr;
    expect(printed).toMatch(/skip +app\.txt +\(symlink-to-dotfile\)/);
    expect(printed).toMatch(/skip +plan\.txt +\(symlink-to-excluded\)/);
    expect(printed).toMatch(/skip +passwd +\(symlink-outside\)/);
  });

  describe.skipIf(!phpFpm)("lamp dev", () => {
    let server: DevServer;
    beforeAll(async () => {
      const ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
      server = await startDevServer({ project: await loadProject(app.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    });
    afterAll(async () => {
      await server?.close();
    });

    it("answers 403 AccessDenied for each of them, as the bucket will", async () => {
      for (const url of ["/assets/app.txt", "/assets/g/config", "/assets/config.txt", "/assets/plan.txt", "/assets/published/plan.txt", "/assets/lamp.json", "/assets/passwd"]) {
        const response = await rawRequest(server.url, { path: url });
        expect(response.status, url).toBe(403);
        expect(response.body.toString(), url).toContain("<Code>AccessDenied</Code>");
        expect(response.body.toString(), url).not.toMatch(/hunter2|token@|stackName/);
      }
      const allowed = await rawRequest(server.url, { path: "/assets/public-link.txt" });
      expect(allowed.status).toBe(200);
    });
  });
});
