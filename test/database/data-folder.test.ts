import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { removeStaleRunFolders } from "../../src/database/data-folder.js";
import { localDatabasePaths, startLocalDatabase } from "../../src/database/local-server.js";
import { mariadbForTests, query, serversGone, serversOf } from "./helpers.js";

const mariadbd = mariadbForTests();
const tsx = path.resolve("node_modules/.bin/tsx");

/** Starts the fixture that starts a project's database as lamp dev does; resolves with the fixture's process. */
function startFixture(directory: string, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(tsx, [path.resolve("test/database/fixtures/start-then-die.ts"), directory], { stdio: ["ignore", "pipe", "pipe"], env });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  const started = new Promise<{ pid: number; dataDirectory: string }>((resolve, reject) => {
    child.stdout.on("data", () => output.includes("\n") && resolve(JSON.parse(output)));
    child.once("exit", (code) => reject(new Error(`exited ${code} before starting the database`)));
  });
  started.catch(() => {});
  /** SIGKILL to the fixture and tsx's node under it: no cleanup code of lamp's runs (its installer, a separate program, may go on). */
  const kill = () => {
    const children = spawnSync("pgrep", ["-P", String(child.pid)]).stdout.toString().trim().split("\n").filter(Boolean).map(Number);
    for (const pid of children) process.kill(pid, "SIGKILL");
    child.kill("SIGKILL");
  };
  return { child, started, kill };
}

async function until(condition: () => boolean, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function processesNaming(fragment: string): number[] {
  const found = spawnSync("pgrep", ["-f", "--", fragment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")]).stdout.toString().trim();
  return found ? found.split("\n").map(Number) : [];
}

describe.skipIf(!mariadbd)("the local database's data folder", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-folder-"));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("two starts at once on a new project: one server, the other refused at once, no data deleted", async () => {
    const directory = path.join(scratch, "race", ".lamp", "mariadb");
    const results = await Promise.allSettled([0, 1].map(() => startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock })));
    const started = results.filter((result) => result.status === "fulfilled").map((result) => result.value);
    const refused = results.filter((result) => result.status === "rejected").map((result) => (result.reason as Error).message);
    try {
      expect(started).toHaveLength(1);
      expect(refused).toEqual([expect.stringContaining("This project's local database is in use by another lamp")]);
      expect(serversOf(localDatabasePaths(directory).data)).toEqual([started[0]!.pid]);
      expect(await query(started[0]!.variables, "SELECT DATABASE()")).toBe("shop\n");
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  });

  it("a data folder that lost its mysql schema but holds tables is neither deleted nor installed over", async () => {
    const directory = path.join(scratch, "broken", ".lamp", "mariadb");
    const server = await startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock });
    await query(server.variables, "CREATE TABLE orders (id INT) ENGINE=InnoDB; INSERT INTO orders VALUES (7)");
    await server.stop();
    const { data } = localDatabasePaths(directory);
    renameSync(path.join(data, "mysql"), path.join(scratch, "mysql-moved-away"));
    const before = readdirSync(data).sort();
    await expect(startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock })).rejects.toMatchObject({
      code: "failed",
      message: expect.stringMatching(/is not a complete MariaDB data folder \(no `mysql` system schema\) but holds .*shop\/.*, \d+ files: lamp will not delete or replace it/),
      hint: expect.stringContaining(`mv ${data} ${data}.old`),
    });
    expect(readdirSync(data).sort()).toEqual(before);
    expect(existsSync(path.join(data, "shop", "orders.ibd"))).toBe(true);
    // Put back, the data is all there.
    renameSync(path.join(scratch, "mysql-moved-away"), path.join(data, "mysql"));
    const again = await startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock });
    try {
      expect(await query(again.variables, "SELECT id FROM orders")).toBe("7\n");
    } finally {
      await again.stop();
    }
  });

  it("a SIGKILL during the first install leaves no partial folder behind after the next start (which then works)", async () => {
    const directory = path.join(scratch, "killed-install", ".lamp", "mariadb");
    const fixture = startFixture(directory);
    const partials = () => (existsSync(directory) ? readdirSync(directory).filter((name) => name.includes(".partial-")) : []);
    await until(() => partials().some((name) => name.startsWith("data.partial-") && existsSync(path.join(directory, name, "mysql"))));
    fixture.kill();
    const [staging] = partials();
    // The installer, a program of MariaDB's, finishes or fails on its own; lamp is gone.
    await until(() => processesNaming(path.join(directory, staging!)).length === 0);
    expect(partials()).toContain(staging);
    expect(existsSync(localDatabasePaths(directory).data)).toBe(false);

    const server = await startLocalDatabase({ directory, database: "app", env: process.env, clock: systemClock });
    try {
      expect(partials()).toEqual([]);
      expect(await query(server.variables, "SELECT DATABASE()")).toBe("app\n");
    } finally {
      await server.stop();
    }
  });

  it("the temp folders of a lamp killed with SIGKILL are removed at the next start; others' are left alone", async () => {
    const temp = mkdtempSync(path.join(scratch, "tmp-"));
    const directory = path.join(scratch, "killed-run", ".lamp", "mariadb");
    const fixture = startFixture(directory, { ...process.env, TMPDIR: temp });
    const started = await fixture.started;
    fixture.kill();
    expect(await serversGone(started.dataDirectory)).toEqual([]);
    // (tsx keeps a cache folder of its own there.)
    const left = readdirSync(temp).filter((name) => name.startsWith("lamp-"));
    expect(left).toEqual([expect.stringMatching(/^lamp-db-run-\d+-\w{6}$/)]);
    // A live lamp's folder, a folder another program named alike, and an old-style folder still in use stay.
    const live = path.join(temp, `lamp-db-run-${process.pid}-abcdef`);
    const notOurs = path.join(temp, "lamp-db-test-abcdef");
    const oldStyleFull = path.join(temp, "lamp-db-ABCdef");
    for (const folder of [live, notOurs, oldStyleFull]) mkdirSync(folder);
    writeFileSync(path.join(oldStyleFull, "keep"), "");
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      expect(removeStaleRunFolders()).toEqual([path.join(temp, left[0]!)]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    expect(readdirSync(temp).filter((name) => name.startsWith("lamp-")).sort()).toEqual(["lamp-db-ABCdef", `lamp-db-run-${process.pid}-abcdef`, "lamp-db-test-abcdef"]);
  });
});

/** A small file system of its own (tmpfs), so the disk can really be filled: needs root to mount. */
function smallDisk(folder: string, megabytes: number): (() => void) | undefined {
  mkdirSync(folder, { recursive: true });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m`, "tmpfs", folder]);
  if (mounted.status !== 0) return undefined;
  return () => execFileSync("umount", ["-l", folder]);
}

describe.skipIf(!mariadbd)("a full disk", () => {
  it("is named as a full disk, for a new database and for one whose disk filled up since", async (context) => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-full-"));
    const unmount = smallDisk(path.join(scratch, "disk"), 220);
    if (!unmount) {
      console.warn("\n⚠⚠⚠ SKIPPING the disk-full test: mounting a small tmpfs needs root. ⚠⚠⚠\n");
      rmSync(scratch, { recursive: true, force: true });
      context.skip();
      return;
    }
    try {
      const disk = path.join(scratch, "disk");
      const directory = path.join(disk, "shop", ".lamp", "mariadb");
      const server = await startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock });
      await server.stop();
      // Fill the disk to the last byte.
      spawnSync("dd", ["if=/dev/zero", `of=${path.join(disk, "filler")}`, "bs=1M"], { stdio: "ignore" });
      await expect(startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock })).rejects.toMatchObject({
        code: "io",
        message: expect.stringMatching(/^The disk holding .* is full \(\d+ MB free\)\.$/),
      });
      expect(serversOf(localDatabasePaths(directory).data)).toEqual([]);
      await expect(startLocalDatabase({ directory: path.join(disk, "blog", ".lamp", "mariadb"), database: "blog", env: process.env, clock: systemClock })).rejects.toMatchObject({
        code: "io",
        message: expect.stringMatching(/^The disk holding .* is full \(0 MB free; a new local database needs about 160 MB\)\.$/),
      });
    } finally {
      unmount();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
