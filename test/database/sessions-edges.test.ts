import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phpFpmForTests } from "../dev/helpers.js";
import { startLampDev, type LampDevRun } from "../helpers/lamp-dev.js";
import { runLamp } from "../helpers/run-lamp.js";
import { mariadbForTests, query } from "./helpers.js";

/**
 * The database session handler at its edges, under lamp dev (real php-fpm, real MariaDB): what a
 * visitor or the developer notices when ids are long, a lock is held, a session is huge, and
 * what the cookie and PHP's settings are.
 */

const ready = Boolean(phpFpmForTests()) && Boolean(mariadbForTests());

interface Visit {
  status: number;
  body: Record<string, unknown>;
  setCookie?: string;
}

describe.skipIf(!ready)("database sessions at their edges", () => {
  let scratch: string;
  let root: string;
  let run: LampDevRun;
  let variables: Record<string, string>;

  async function visit(search: string, cookie?: string): Promise<Visit> {
    const response = await fetch(`${run.url}/${search}`, { headers: cookie ? { cookie } : {} });
    const text = await response.text();
    const setCookie = response.headers.getSetCookie().find((value) => value.startsWith("PHPSESSID="));
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, setCookie };
  }
  const cookieOf = (visited: Visit) => visited.setCookie!.split(";")[0]!;
  /** Whether lamp dev printed a matching line within 5 s (PHP's log lines arrive on their own). */
  async function logged(pattern: RegExp): Promise<boolean> {
    for (let waited = 0; waited < 5000; waited += 50) {
      if (pattern.test(run.output())) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-session-edges-"));
    root = path.join(scratch, "shop");
    const init = await runLamp(["init", root, "--yes", "--database"]);
    expect(init.code, init.stderr).toBe(0);
    copyFileSync(path.resolve("test/database/fixtures/sessions-edges.php"), path.join(root, "public", "index.php"));
    const configPath = path.join(root, "lamp.json");
    // A short lock wait, so a held lock shows within the test.
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, "utf8")), environment: { LAMP_SESSION_LOCK_SECONDS: "1" } }));
    run = await startLampDev(root, ["--port", "0", "--workers", "4"]);
    // The banner (stderr) may arrive just after the URL (stdout).
    while (!/on 127\.0\.0\.1:(\d+), data in/.test(run.output())) await new Promise((resolve) => setTimeout(resolve, 20));
    const port = /on 127\.0\.0\.1:(\d+), data in/.exec(run.output())![1]!;
    const password = readFileSync(path.join(root, ".lamp", "mariadb", "password"), "utf8").trim();
    variables = { DB_HOST: "127.0.0.1", DB_PORT: port, DB_USERNAME: "lamp", DB_PASSWORD: password, DB_DATABASE: "shop" };
  }, 180_000);

  afterAll(async () => {
    run?.child.kill("SIGINT");
    await run?.exit;
    rmSync(scratch, { recursive: true, force: true });
  });

  it("stores a session whose id is 200 characters long (PHP accepts up to 256)", async () => {
    const first = await visit("?do=long-id");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(String(first.body.id)).toHaveLength(200);
    const second = await visit("?do=long-id", cookieOf(first));
    expect(second.body).toEqual({ count: 2, id: first.body.id });
  });

  it("refuses an id it never issued (strict mode), and sets the cookie HttpOnly and SameSite=Lax (not Secure over http)", async () => {
    const planted = "attackerchosen0123456789abcdef";
    const visited = await visit("", `PHPSESSID=${planted}`);
    expect(visited.body.count).toBe(1);
    expect(visited.body.id).not.toBe(planted);
    expect(visited.setCookie).toMatch(/; HttpOnly/i);
    expect(visited.setCookie).toMatch(/; SameSite=Lax/i);
    expect(visited.setCookie).not.toMatch(/; secure/i);
    expect(await query(variables, `SELECT COUNT(*) FROM lamp_sessions WHERE id = '${planted}'`)).toBe("0\n");
    // What the app sets itself stays.
    expect((await visit("?do=samesite-none")).setCookie).toMatch(/; SameSite=None/i);
  });

  it("fails a request that cannot get the session's lock in time, with a clear log line, and loses no update", async () => {
    const start = await visit("");
    const cookie = cookieOf(start);
    const holding = visit("?do=hold&seconds=3", cookie);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const waiting = await visit("", cookie);
    expect(waiting.status).toBe(500);
    expect(waiting.body.error).toMatch(/another request held this session for 1 s/);
    expect(await logged(/lamp sessions: another request held this session for 1 s \(LAMP_SESSION_LOCK_SECONDS\); this request fails/)).toBe(true);
    expect((await holding).body.count).toBe(2);
    // The failed request changed nothing: the next one counts on from the holder's write.
    expect((await visit("", cookie)).body.count).toBe(3);
  });

  it("names a session too large for the table in the log instead of failing obscurely", async () => {
    const visited = await visit("?do=big");
    expect(visited.status).toBe(200);
    expect(await logged(/lamp sessions: this session holds 17\.0 MB, more than the 15 MB the table can store; it was not saved/)).toBe(true);
  });

  it("runs PHP's session garbage collection with PHP's and Bref's default odds, not Debian's 0", async () => {
    expect((await visit("?do=settings")).body).toEqual({ gc: ["1", "1000"], strict: "1" });
    await query(variables, "UPDATE lamp_sessions SET updated_at = 1");
    const collected = await visit("?do=gc");
    expect(Number(collected.body.collected)).toBeGreaterThan(0);
    expect(await query(variables, "SELECT COUNT(*) FROM lamp_sessions WHERE updated_at = 1")).toBe("0\n");
  });
});
