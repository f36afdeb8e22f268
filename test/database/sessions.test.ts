import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpFpmForTests } from "../dev/helpers.js";
import { startLampDev, type LampDevRun } from "../helpers/lamp-dev.js";
import { runLamp } from "../helpers/run-lamp.js";
import { mariadbForTests, query } from "./helpers.js";

const ready = Boolean(phpFpmForTests()) && Boolean(mariadbForTests());

/** One visitor: a cookie jar of one session cookie. */
function visitor(): { visit(run: LampDevRun, search?: string): Promise<{ count: number; handler: string }> } {
  let cookie: string | undefined;
  return {
    async visit(run, search = "") {
      const response = await fetch(`${run.url}/${search}`, { headers: cookie ? { cookie } : {} });
      const text = await response.text();
      expect(response.status, text).toBe(200);
      const set = response.headers.getSetCookie().find((value) => value.startsWith("PHPSESSID="));
      if (set) cookie = set.split(";")[0];
      return JSON.parse(text) as { count: number; handler: string };
    },
  };
}

const stop = async (run: LampDevRun) => {
  run.child.kill("SIGINT");
  expect(await run.exit).toBe(0);
};

describe.skipIf(!ready)("PHP sessions in the project's database (the runtime layer's handler)", () => {
  let scratch: string;
  let root: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-sessions-"));
    root = path.join(scratch, "shop");
    const init = await runLamp(["init", root, "--yes", "--database"]);
    expect(init.code, init.stderr).toBe(0);
    copyFileSync(path.resolve("test/database/fixtures/sessions.php"), path.join(root, "public", "index.php"));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("a session survives a restart of php-fpm (a new Lambda instance), stored in lamp_sessions", async () => {
    const ada = visitor();
    const first = await startLampDev(root, ["--port", "0", "--workers", "4"]);
    try {
      expect(await ada.visit(first)).toEqual({ count: 1, handler: "user" });
      expect((await ada.visit(first)).count).toBe(2);
      const port = /on 127\.0\.0\.1:(\d+), data in/.exec(first.output())?.[1];
      expect(port).toBeDefined();
      const password = readFileSync(path.join(root, ".lamp", "mariadb", "password"), "utf8").trim();
      const variables = { DB_HOST: "127.0.0.1", DB_PORT: port!, DB_USERNAME: "lamp", DB_PASSWORD: password, DB_DATABASE: "shop" };
      expect(await query(variables, "SELECT COUNT(*) FROM lamp_sessions")).toBe("1\n");
    } finally {
      await stop(first);
    }

    const second = await startLampDev(root, ["--port", "0", "--workers", "4"]);
    try {
      expect((await ada.visit(second)).count).toBe(3);
      // Another visitor starts from nothing.
      expect((await visitor().visit(second)).count).toBe(1);
      // Concurrent requests of one visitor wait for each other: none of the six increments is lost.
      await Promise.all(Array.from({ length: 6 }, () => ada.visit(second, "?slow=1")));
      expect((await ada.visit(second)).count).toBe(10);
    } finally {
      await stop(second);
    }
  });

  it("LAMP_SESSIONS=files keeps PHP's own file sessions, which a new instance does not have", async () => {
    const configPath = path.join(root, "lamp.json");
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    writeFileSync(configPath, JSON.stringify({ ...config, environment: { LAMP_SESSIONS: "files" } }));
    const bob = visitor();
    // One instance: file sessions then last as long as it does (with more, they are lost between instances).
    const first = await startLampDev(root, ["--port", "0", "--workers", "1"]);
    try {
      expect(await bob.visit(first)).toEqual({ count: 1, handler: "files" });
      expect((await bob.visit(first)).count).toBe(2);
    } finally {
      await stop(first);
    }
    const second = await startLampDev(root, ["--port", "0", "--workers", "1"]);
    try {
      expect((await bob.visit(second)).count).toBe(1);
    } finally {
      await stop(second);
      writeFileSync(configPath, JSON.stringify(config));
    }
  });
});
