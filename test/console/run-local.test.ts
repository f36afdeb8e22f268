import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOnlySupported } from "../../src/dev/lambda-php.js";
import { mariadbForTests, serversGone } from "../database/helpers.js";
import { lampBin, runLamp } from "../helpers/run-lamp.js";

/**
 * `lamp run` locally, through the built CLI as a user runs it: the project's script under the local
 * PHP, with the console function's environment and the project's real local database (MariaDB).
 */
const ready = Boolean(mariadbForTests());
const namespaces = ready && readOnlySupported();
if (ready && !namespaces) {
  if (process.env.CI) throw new Error("CI must allow user namespaces: lamp run makes the code read-only with them");
  console.warn("\n⚠⚠⚠ SKIPPING lamp run's read-only test: this system does not allow user namespaces (unshare --user --mount). ⚠⚠⚠\n");
}
/** Debian's php-gd for the CLI: the local build of the extension lamp run loads for php.extensions: ["gd"]. */
const haveGd = ["8.2", "8.3", "8.4", "8.5"].some((version) => existsSync(`/etc/php/${version}/cli/conf.d/20-gd.ini`));
if (ready && !haveGd) {
  if (process.env.CI) throw new Error("php-gd is required in CI (scripts/setup.sh installs it)");
  console.warn("\n⚠⚠⚠ SKIPPING lamp run's gd test: install php-gd (scripts/setup.sh). ⚠⚠⚠\n");
}
const fixtures = path.resolve("test/console/fixtures");
let scratch: string;
let root: string;
let dataDirectory: string;

interface Probe {
  argv: string[];
  stdin: string;
  cwd: string;
  runtime: string;
  appEnv: string;
  taskRoot: string;
  runs: number | null;
  shell: string | false;
}

beforeAll(async () => {
  if (!ready) return;
  scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-run-"));
  root = path.join(scratch, "shop");
  // x86_64: php.extensions of Bref's extra layers (gd) exist for it only.
  const init = await runLamp(["init", root, "--yes", "--database", "--arch", "x86_64"]);
  expect(init.code, init.stderr).toBe(0);
  const config = JSON.parse(readFileSync(path.join(root, "lamp.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(path.join(root, "lamp.json"), JSON.stringify({ ...config, environment: { APP_ENV: "local-test" } }));
  mkdirSync(path.join(root, "scripts"));
  copyFileSync(path.join(fixtures, "probe.php"), path.join(root, "scripts", "probe.php"));
  copyFileSync(path.join(fixtures, "wait.php"), path.join(root, "scripts", "wait.php"));
  copyFileSync(path.join(fixtures, "lambda.php"), path.join(root, "scripts", "lambda.php"));
  dataDirectory = path.join(root, ".lamp", "mariadb", "data");
}, 120_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(!ready)("lamp run -- <script> [args...] (local)", () => {
  it("runs the script with its arguments, the function's environment and the local database, and exits with its code", async () => {
    const first = await runLamp(["run", "--", "scripts/probe.php", "0", "two words", `it's "quoted"`, "$HOME; rm -rf /"], { cwd: root, env: { SECRET_FROM_SHELL: "leaked" } });
    expect(first.code, first.stderr).toBe(0);
    const probe = JSON.parse(first.stdout.trim().split("\n").at(-1)!) as Probe;
    expect(probe.argv).toEqual(["scripts/probe.php", "0", "two words", `it's "quoted"`, "$HOME; rm -rf /"]);
    expect(probe.stdin).toBe("");
    expect(probe.cwd).toBe(root);
    expect(probe.runtime).toBe("console");
    expect(probe.appEnv).toBe("local-test");
    expect(probe.taskRoot).toBe(root);
    expect(probe.runs).toBe(1);
    // Lambda has nothing of the developer's shell: neither has the script.
    expect(probe.shell).toBe(false);
    expect(first.stderr).toContain("probe: done");
    // lamp wrote its handler into the project, as the console function's Handler.
    expect(existsSync(path.join(root, "lamp", "console.php"))).toBe(true);
    // The database was started for the run and stopped after it; its data stays.
    expect(await serversGone(dataDirectory, 10_000)).toEqual([]);

    for (const code of [1, 3]) {
      const failing = await runLamp(["run", "--", "scripts/probe.php", String(code)], { cwd: root });
      expect(failing.code).toBe(code);
      // The script spoke for itself: lamp adds no error line of its own.
      expect(failing.stderr).not.toContain("✖");
    }
    const again = await runLamp(["run", "--", "scripts/probe.php"], { cwd: root });
    expect((JSON.parse(again.stdout.trim().split("\n").at(-1)!) as Probe).runs).toBe(4);
  }, 120_000);

  it("with --json, prints {exitCode, durationMs} on stdout and the script's output on stderr", async () => {
    const run = await runLamp(["--json", "run", "--", "scripts/probe.php", "3"], { cwd: root });
    expect(run.code).toBe(3);
    const result = JSON.parse(run.stdout) as { exitCode: number; durationMs: number };
    expect(result.exitCode).toBe(3);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(run.stderr).toContain('"argv":["scripts\\/probe.php","3"]');
  }, 60_000);

  it("says so when the script is not in the project", async () => {
    const run = await runLamp(["run", "--", "../../etc/passwd"], { cwd: root });
    expect(run.code).toBe(127);
    expect(run.stderr).toContain("lamp console: no script ../../etc/passwd in the project");
  }, 60_000);

  it.skipIf(!namespaces)("runs the script with the code read-only, as in Lambda (a write into the project fails there and here), and writable with --writable", async () => {
    const lambda = await runLamp(["run", "--", "scripts/lambda.php"], { cwd: root });
    expect(lambda.code, lambda.stderr).toBe(1);
    expect(lambda.stderr).toContain("Read-only file system");
    expect(existsSync(path.join(root, "cache.txt"))).toBe(false);
    const probe = JSON.parse(lambda.stdout.trim().split("\n").at(-1)!) as { written: boolean; tmpWritable: boolean };
    // Lambda's /tmp stays writable.
    expect(probe).toMatchObject({ written: false, tmpWritable: true });

    const writable = await runLamp(["run", "--writable", "--", "scripts/lambda.php"], { cwd: root });
    expect(writable.code, writable.stderr).toBe(0);
    expect(readFileSync(path.join(root, "cache.txt"), "utf8")).toBe("written by a script");
    rmSync(path.join(root, "cache.txt"));

    const remote = await runLamp(["run", "--remote", "--writable", "--", "scripts/lambda.php"], { cwd: root });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain("--writable is for local runs");
  }, 120_000);

  it("runs PHP with Bref's ini settings under the project's php/conf.d, and exactly the layer's extensions plus php.extensions", async () => {
    mkdirSync(path.join(root, "php", "conf.d"), { recursive: true });
    writeFileSync(path.join(root, "php", "conf.d", "app.ini"), "memory_limit = 512M\n");
    try {
      const plain = await runLamp(["run", "--writable", "--", "scripts/lambda.php"], { cwd: root });
      expect(plain.code, plain.stderr).toBe(0);
      const lambda = JSON.parse(plain.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
      // Debian's CLI loads gd and calendar (enabled in its conf.d); Bref's layer has neither.
      expect(lambda).toMatchObject({ gd: false, calendar: false, mbstring: true, pdo_mysql: true });
      // Bref's values (post_max_size 6M, display_errors off), the project's php/conf.d over them.
      expect(lambda.ini).toEqual({ memory_limit: "512M", post_max_size: "6M", display_errors: "0", "opcache.enable_cli": "1" });
      if (!haveGd) return;
      const lampJson = path.join(root, "lamp.json");
      const config = readFileSync(lampJson, "utf8");
      writeFileSync(lampJson, JSON.stringify({ ...JSON.parse(config), php: { extensions: ["gd"] } }));
      try {
        const withGd = await runLamp(["run", "--writable", "--", "scripts/lambda.php"], { cwd: root });
        expect(withGd.code, withGd.stderr).toBe(0);
        expect(JSON.parse(withGd.stdout.trim().split("\n").at(-1)!)).toMatchObject({ gd: true, calendar: false });
      } finally {
        writeFileSync(lampJson, config);
      }
    } finally {
      rmSync(path.join(root, "php", "conf.d", "app.ini"));
      rmSync(path.join(root, "cache.txt"), { force: true });
    }
  }, 120_000);

  it.each(["SIGINT", "SIGTERM"] as const)("stops the script on %s, exits 130/cancelled, and leaves no PHP or database running", async (signal) => {
    const child = spawn(process.execPath, [lampBin, "run", "--", "scripts/wait.php"], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const phpPid = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /waiting (\d+)/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", () => reject(new Error(`lamp ended first: ${stderr}`)));
    });
    child.kill(signal);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    expect(code).toBe(130);
    expect(stdout).not.toContain("not stopped");
    expect(() => process.kill(phpPid, 0)).toThrow();
    expect(await serversGone(dataDirectory, 10_000)).toEqual([]);
  }, 60_000);

  it("leaves no PHP, database or run folder behind when lamp itself is killed (SIGKILL)", async () => {
    const child = spawn(process.execPath, [lampBin, "run", "--", "scripts/wait.php"], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const [phpPid, phpTmp] = await new Promise<[number, string]>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /waiting (\d+) in (\S+)/.exec(stdout);
        if (match) resolve([Number(match[1]), match[2]!]);
      });
      child.once("exit", () => reject(new Error(`lamp ended first: ${stderr}`)));
    });
    const runFolder = path.dirname(phpTmp);
    expect(existsSync(runFolder)).toBe(true);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let waited = 0; waited < 15_000 && (alive(phpPid) || existsSync(runFolder)); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(phpPid)).toBe(false);
    expect(existsSync(runFolder)).toBe(false);
    expect(await serversGone(dataDirectory, 15_000)).toEqual([]);
  }, 60_000);
});
