import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childPids, isRunning, phpFpmForTests } from "../dev/helpers.js";
import { startLampDev, type LampDevRun } from "../helpers/lamp-dev.js";
import { runLamp } from "../helpers/run-lamp.js";
import { mariadbForTests, serversGone, serversOf } from "./helpers.js";

/** Waits (polling, no fixed margin) until none of the processes runs; returns those left after `limitMs`. */
async function processesGone(pids: number[], limitMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = Boolean(phpFpmForTests()) && Boolean(mariadbForTests());
const notesPage = path.resolve("test/database/fixtures/notes.php");

interface Notes {
  notes: string[];
  version: string;
  serverVersion: string;
  countViaUrl: number;
}

async function addNote(run: LampDevRun, body: string): Promise<Notes> {
  const response = await fetch(run.url, { method: "POST", body: new URLSearchParams({ body }) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Notes;
}

/** A project made by `lamp init --database` whose front controller is a page that uses the database. */
async function databaseProject(scratch: string, name: string): Promise<{ root: string; dataDirectory: string }> {
  const root = path.join(scratch, name);
  const init = await runLamp(["init", root, "--yes", "--database"]);
  expect(init.code, init.stderr).toBe(0);
  copyFileSync(notesPage, path.join(root, "public", "index.php"));
  return { root, dataDirectory: path.join(root, ".lamp", "mariadb", "data") };
}

describe.skipIf(!ready)("`lamp init shop --database --yes && cd shop && lamp dev`", () => {
  let scratch: string;
  let shop: { root: string; dataDirectory: string };

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-dev-"));
    shop = await databaseProject(scratch, "shop");
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("gives PHP a working MySQL through the six variables, and its data survives a restart", async () => {
    const first = await startLampDev(shop.root);
    try {
      const written = await addNote(first, "first order");
      expect(written.notes).toEqual(["first order"]);
      expect(written.countViaUrl).toBe(1);
      expect(written.version).toMatch(/MariaDB/);
      expect(written.serverVersion).toBe(written.version.replace(/^(\d+\.\d+\.\d+).*$/, "$1-MariaDB"));
    } finally {
      first.child.kill("SIGINT");
    }
    expect(await first.exit).toBe(0);
    expect(first.output()).toMatch(/MySQL \(10\.\d+\.\d+-MariaDB[^)]*\) on 127\.0\.0\.1:\d+, data in \.lamp\/mariadb/);
    expect(first.output()).toContain("Stopped php-fpm, the database and the dev server.");
    const password = readFileSync(path.join(shop.root, ".lamp", "mariadb", "password"), "utf8").trim();
    expect(password.length).toBeGreaterThan(20);
    expect(first.output()).not.toContain(password);
    expect(serversOf(shop.dataDirectory)).toEqual([]);

    const second = await startLampDev(shop.root);
    try {
      expect((await addNote(second, "second order")).notes).toEqual(["first order", "second order"]);
    } finally {
      second.child.kill("SIGTERM");
    }
    expect(await second.exit).toBe(0);
    expect(serversOf(shop.dataDirectory)).toEqual([]);
  });

  // SIGHUP: the terminal closed; SIGKILL: nothing of lamp runs at all. The server must still go.
  it.each(["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"] as const)("%s to lamp dev leaves no mariadbd behind", async (signal) => {
    const run = await startLampDev(shop.root);
    const fpm = childPids(run.child.pid!);
    try {
      expect(serversOf(shop.dataDirectory)).toHaveLength(1);
      expect((await addNote(run, signal)).notes).toContain(signal);
    } finally {
      run.child.kill(signal);
    }
    await run.exit;
    expect(await serversGone(shop.dataDirectory)).toEqual([]);
    // php-fpm (and its watchdog) must go too, whatever the signal: a database project ends like any other.
    expect(await processesGone(fpm)).toEqual([]);
  });

  it("a database that dies under lamp dev ends it with one line, and takes php-fpm with it", async () => {
    const run = await startLampDev(shop.root);
    const fpm = childPids(run.child.pid!);
    const [server] = serversOf(shop.dataDirectory);
    expect(server).toBeDefined();
    process.kill(server!, "SIGKILL");
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain("The local database exited unexpectedly (SIGKILL).");
    expect(run.output()).not.toMatch(/\n\s+at /);
    for (const pid of fpm) expect(isRunning(pid), `php-fpm ${pid}`).toBe(false);
  });

  it("two projects run at once, each with its own server, port and data", async () => {
    const blog = await databaseProject(scratch, "blog");
    const [a, b] = await Promise.all([startLampDev(shop.root), startLampDev(blog.root)]);
    try {
      const inBlog = await addNote(b, "a post");
      expect(inBlog.notes).toEqual(["a post"]);
      expect((await addNote(a, "an order")).notes).not.toContain("a post");
      expect(serversOf(shop.dataDirectory)).toHaveLength(1);
      expect(serversOf(blog.dataDirectory)).toHaveLength(1);
    } finally {
      a.child.kill("SIGINT");
      b.child.kill("SIGINT");
    }
    expect([await a.exit, await b.exit]).toEqual([0, 0]);
    expect(serversOf(shop.dataDirectory)).toEqual([]);
    expect(serversOf(blog.dataDirectory)).toEqual([]);
  });

  it("a second lamp dev in the same project is refused in one line, and the first one keeps serving", async () => {
    const first = await startLampDev(shop.root);
    try {
      const second = await runLamp(["dev", "--port", "0"], { cwd: shop.root });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/This project's local database is in use by another lamp \(process \d+\): is `lamp dev` or `lamp db` already running in this project\?/);
      expect(second.stderr).not.toMatch(/\n\s+at /);
      expect((await addNote(first, "still serving")).notes).toContain("still serving");
    } finally {
      first.child.kill("SIGINT");
    }
    expect(await first.exit).toBe(0);
  });
});
