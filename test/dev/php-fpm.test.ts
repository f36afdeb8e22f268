import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { LampError } from "../../src/core/errors.js";
import { FastCgiClient } from "../../src/dev/fastcgi/client.js";
import { findPhpFpm } from "../../src/project/php-fpm-binary.js";
import { renderFpmConfig, startPhpFpm } from "../../src/dev/php-fpm.js";
import { isRunning, phpFpmForTests } from "./helpers.js";

let scratch: string;
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

function executable(directory: string, name: string, script = "#!/bin/sh\nexit 0\n"): string {
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, name);
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return file;
}

describe("findPhpFpm", () => {
  it("prefers php-fpm on PATH, then the newest php-fpmX.Y, then the sbin directories", () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-find-"));
    const bin = path.join(scratch, "bin");
    const sbin = path.join(scratch, "sbin");
    executable(sbin, "php-fpm8.1");
    expect(findPhpFpm(undefined, { PATH: bin }, [sbin])).toBe(path.join(sbin, "php-fpm8.1"));
    executable(bin, "php-fpm8.2");
    executable(bin, "php-fpm8.10");
    executable(bin, "php-fpm-not-this");
    expect(findPhpFpm(undefined, { PATH: bin }, [sbin])).toBe(path.join(bin, "php-fpm8.10"));
    executable(bin, "php-fpm");
    expect(findPhpFpm(undefined, { PATH: bin }, [sbin])).toBe(path.join(bin, "php-fpm"));
  });

  it("skips files that are not executable", () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-find-"));
    writeFileSync(path.join(scratch, "php-fpm"), "not a program");
    const good = executable(path.join(scratch, "sbin"), "php-fpm8.3");
    expect(findPhpFpm(undefined, { PATH: scratch }, [path.join(scratch, "sbin")])).toBe(good);
  });

  it("names the package to install when php-fpm is nowhere", () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-find-"));
    let error: unknown;
    try {
      findPhpFpm(undefined, { PATH: scratch }, [path.join(scratch, "none")]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LampError);
    expect((error as LampError).message).toContain("php-fpm was not found");
    expect((error as LampError).hint).toContain("apt-get install php-fpm");
    expect((error as LampError).hint).toContain("--php-fpm");
  });

  it("--php-fpm must point at an executable file", () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-find-"));
    expect(() => findPhpFpm(path.join(scratch, "missing"), {})).toThrow(/--php-fpm .*missing: no executable file there/);
    const explicit = executable(scratch, "my-fpm");
    expect(findPhpFpm(explicit, {})).toBe(explicit);
  });
});

describe("renderFpmConfig", () => {
  it("is Bref's setup: foreground, a static pool of one worker per socket, environment kept, worker output undecorated, no terminate timeout", () => {
    const config = renderFpmConfig({ socketPaths: ["/tmp/x/php-fpm-1.sock", "/tmp/x/php-fpm-2.sock"], pidPath: "/tmp/x/php-fpm.pid" });
    const lines = config.split("\n");
    expect(lines).toContain("daemonize = no");
    const pools = config.split(/^\[lamp-\d\]$/m).slice(1);
    expect(pools.length).toBe(2);
    pools.forEach((pool, index) => {
      const poolLines = pool.split("\n");
      for (const line of [
        `listen = /tmp/x/php-fpm-${index + 1}.sock`,
        "pm = static",
        "pm.max_children = 1",
        "clear_env = no",
        "catch_workers_output = yes",
        "decorate_workers_output = no",
      ]) {
        expect(poolLines).toContain(line);
      }
    });
    // php-fpm counts it from when a worker accepted its kept-open connection: it killed healthy requests.
    expect(config).not.toContain("request_terminate_timeout");
  });
});

describe.skipIf(!phpFpmForTests())("startPhpFpm with a real php-fpm", () => {
  it("a crash of lamp's own process still takes php-fpm and all its workers down, and removes the temp dir", async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-crash-"));
    const script = fileURLToPath(new URL("./fixtures/crash-after-start.ts", import.meta.url));
    const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
    const run = spawnSync(tsx, [script, phpFpmForTests()!], { cwd: scratch, encoding: "utf8" });
    expect(run.stderr).toContain("simulated crash");
    const started = JSON.parse(run.stdout.trim().split("\n").pop()!) as { master: number; workers: number[]; children: number[]; socket: string };
    expect(started.workers.length).toBe(2);
    expect(started.children.length).toBe(3);
    // SIGKILL is delivered at once, but the kernel may take a moment to reap.
    await expect.poll(() => [started.master, ...started.children].filter(isRunning), { timeout: 5000 }).toEqual([]);
    expect(existsSync(path.dirname(started.socket))).toBe(false);
  });
});

describe.skipIf(!phpFpmForTests())("FastCGI params over one record, with a real php-fpm", () => {
  it("php-fpm reads params that fill several PARAMS records (each record ends on a pair boundary)", async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-params-"));
    const script = path.join(scratch, "lengths.php");
    writeFileSync(script, "<?php echo strlen($_SERVER['HTTP_A']), ' ', strlen($_SERVER['HTTP_B']), ' ', $_SERVER['HTTP_C'];\n");
    const fpm = await startPhpFpm({ binary: phpFpmForTests()!, workers: 1, cwd: scratch, env: { PATH: process.env.PATH }, clock: systemClock, onLog: () => {}, onExit: () => {} });
    const client = new FastCgiClient({ socketPaths: fpm.socketPaths });
    try {
      const response = await client.request({
        params: [["SCRIPT_FILENAME", script], ["REQUEST_METHOD", "GET"], ["HTTP_A", "a".repeat(40_000)], ["HTTP_B", "b".repeat(40_000)], ["HTTP_C", "after"]],
        body: Buffer.alloc(0),
      });
      expect(response.stdout.toString().split("\r\n\r\n")[1]).toBe("40000 40000 after");
    } finally {
      client.close();
      await fpm.stop();
    }
  });
});

describe("startPhpFpm", () => {
  it("fails fast, with php-fpm's own error, when php-fpm exits while starting; nothing left behind", async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-start-"));
    const broken = executable(scratch, "php-fpm", "#!/bin/sh\necho '[01-Jan-2026 00:00:00] ERROR: failed to open configuration file' >&2\nexit 78\n");
    // os.tmpdir() follows TMPDIR: point it at an empty folder to see what the run leaves there.
    const tmp = path.join(scratch, "tmp");
    mkdirSync(tmp);
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    const started = startPhpFpm({
      binary: broken,
      workers: 1,
      cwd: scratch,
      env: {},
      clock: systemClock,
      onLog: () => {},
      onExit: () => {},
    });
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    await expect(started).rejects.toThrow(/php-fpm exited while starting \(exit code 78\): .*ERROR: failed to open configuration file/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("gives a readable error when the binary cannot run at all", async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-start-"));
    const notAProgram = path.join(scratch, "php-fpm");
    writeFileSync(notAProgram, "\0\0\0\0");
    chmodSync(notAProgram, 0o755);
    await expect(
      startPhpFpm({ binary: notAProgram, workers: 1, cwd: scratch, env: {}, clock: systemClock, onLog: () => {}, onExit: () => {} }),
    ).rejects.toBeInstanceOf(LampError);
  });
});
