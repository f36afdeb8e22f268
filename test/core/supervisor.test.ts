import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock, type Clock } from "../../src/core/clock.js";
import { BoundedTail, escalate, LineSplitter, maxLineLength, supervise, type SuperviseOptions } from "../../src/core/supervisor.js";

const scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-supervisor-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Whether a process runs (a zombie does not). */
function isRunning(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.charAt(0);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, limitMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** A clock whose time moves only when the test says so. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const sleepers: { at: number; wake(): void }[] = [];
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        const sleeper = { at: now + ms, wake: resolve };
        sleepers.push(sleeper);
        signal?.addEventListener("abort", () => {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          reject(signal.reason);
        });
      }),
    advance(ms) {
      now += ms;
      for (const sleeper of sleepers.filter((each) => each.at <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
    },
  };
}

describe("LineSplitter and BoundedTail (pure)", () => {
  it("gives whole lines only, across chunks, without empty lines, and the last line at the end even without a newline", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("one\ntw")).toEqual(["one"]);
    expect(splitter.push("o\n\nthr")).toEqual(["two"]);
    expect(splitter.push("ee")).toEqual([]);
    expect(splitter.end()).toEqual(["three"]);
    expect(splitter.end()).toEqual([]);
  });

  it("passes a line that never ends on in pieces of maxLineLength: memory stays bounded", () => {
    const splitter = new LineSplitter();
    const pieces = splitter.push("x".repeat(maxLineLength * 2 + 5));
    expect(pieces.map((piece) => piece.length)).toEqual([maxLineLength, maxLineLength]);
    expect(splitter.end()).toEqual(["xxxxx"]);
  });

  it("keeps the last lines only", () => {
    const tail = new BoundedTail(3);
    for (const line of ["a", "b", "c", "d", "e"]) tail.add(line);
    expect(tail.lines()).toEqual(["c", "d", "e"]);
  });
});

describe("escalate (TERM, then KILL after the grace period, on the injected clock)", () => {
  it("does not force a process that ends within the grace period", async () => {
    const clock = manualClock();
    const calls: string[] = [];
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const done = escalate({ ask: () => calls.push("TERM"), force: () => calls.push("KILL"), ended, graceMs: 3000, clock });
    clock.advance(2999);
    end();
    expect(await done).toBe(false);
    clock.advance(10_000);
    expect(calls).toEqual(["TERM"]);
  });

  it("forces a process still running when the grace period is over, and waits for its end", async () => {
    const clock = manualClock();
    const calls: string[] = [];
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    let settled = false;
    const done = escalate({ ask: () => calls.push("TERM"), force: () => (calls.push("KILL"), end()), ended, graceMs: 3000, clock }).then((forced) => ((settled = true), forced));
    await Promise.resolve();
    expect(calls).toEqual(["TERM"]);
    clock.advance(3000);
    expect(await done).toBe(true);
    expect(settled).toBe(true);
    expect(calls).toEqual(["TERM", "KILL"]);
  });
});

describe("supervise, with real child processes", () => {
  const options = (command: string[], extra: Partial<SuperviseOptions> = {}): SuperviseOptions => ({
    command,
    env: process.env,
    watchdogName: "lamp-test-watchdog",
    onLine: () => {},
    tailLines: 5,
    graceMs: 3000,
    clock: systemClock,
    ...extra,
  });

  it("a program never ready is stopped at the deadline, its folder removed", async () => {
    const folder = path.join(scratch, "never-ready");
    mkdirSync(folder);
    const child = supervise(options(["/bin/sh", "-c", "sleep 30"], { folder }));
    const started = Date.now();
    const readiness = await child.whenReady(() => false, { timeoutMs: 300, pollMs: 10 });
    expect(readiness).toEqual({ state: "timed-out" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(isRunning(child.pid)).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });

  it("the deadline is the injected clock's: a minute of its time passes in a moment", async () => {
    let now = 0;
    const fastClock: Clock = { now: () => now, sleep: (ms) => new Promise((resolve) => setImmediate(() => ((now += ms), resolve()))) };
    const child = supervise(options(["/bin/sh", "-c", "sleep 30"], { clock: fastClock }));
    const started = Date.now();
    expect(await child.whenReady(() => false, { timeoutMs: 60_000, pollMs: 10 })).toEqual({ state: "timed-out" });
    expect(now).toBeGreaterThan(60_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isRunning(child.pid)).toBe(false);
  });

  it("a program that ends while starting: its exit and the last lines of its output (stderr and stdout), bounded", async () => {
    const seen: string[] = [];
    const script = 'echo "on stdout"; i=1; while [ $i -le 100 ]; do echo "line $i" >&2; i=$((i + 1)); done; echo "last words" >&2; exit 3';
    const child = supervise(options(["/bin/sh", "-c", script], { onLine: (line) => seen.push(line) }));
    const readiness = await child.whenReady(() => false, { timeoutMs: 10_000, pollMs: 10 });
    expect(readiness).toMatchObject({ state: "exited", code: 3, signal: null });
    expect(seen).toHaveLength(102);
    expect(seen).toContain("on stdout");
    // (Two pipes: their lines interleave as they are read; within stderr the order holds.)
    expect(readiness.state === "exited" && readiness.tail.filter((line) => line !== "on stdout").slice(-4)).toEqual(["line 98", "line 99", "line 100", "last words"]);
    expect(readiness.state === "exited" && readiness.tail.length).toBe(5);
  });

  it("stop(): SIGTERM first; a program that ignores it is killed with its whole group after the grace period", async () => {
    const marker = path.join(scratch, "term-then-kill");
    let grandchild: number | undefined;
    const program = 'trap \'echo TERM >> "$1"\' TERM; sleep 60 & echo "grandchild $!"; while :; do sleep 0.1; done';
    const child = supervise(
      options(["/bin/sh", "-c", program, "program", marker], {
        graceMs: 500,
        onLine: (line) => (grandchild = Number(/^grandchild (\d+)$/.exec(line)?.[1] ?? grandchild)),
      }),
    );
    expect(await child.whenReady(() => grandchild !== undefined, { timeoutMs: 10_000, pollMs: 10 })).toEqual({ state: "ready" });
    const started = Date.now();
    await child.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(readFileSync(marker, "utf8")).toBe("TERM\n");
    expect(isRunning(child.pid)).toBe(false);
    expect(isRunning(grandchild!)).toBe(false);
    // Idempotent.
    await child.stop();
  });

  it("stop(): a program that heeds SIGTERM is not made to wait for the grace period", async () => {
    let up = false;
    const child = supervise(options(["/bin/sh", "-c", "echo up; exec sleep 60"], { graceMs: 60_000, onLine: () => (up = true) }));
    expect(await child.whenReady(() => up, { timeoutMs: 10_000, pollMs: 10 })).toEqual({ state: "ready" });
    const started = Date.now();
    await child.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isRunning(child.pid)).toBe(false);
  });

  it("a program that ends after it was ready is reported once through onExit; one stopped on purpose is not", async () => {
    const exits: (string | number | null)[] = [];
    let up = false;
    const child = supervise(options(["/bin/sh", "-c", "echo up; exec sleep 60"], { onLine: () => (up = true), onExit: (code, signal) => exits.push(signal ?? code) }));
    await child.whenReady(() => up, { timeoutMs: 10_000, pollMs: 10 });
    process.kill(child.pid, "SIGKILL");
    expect(await until(() => exits.length > 0)).toBe(true);
    expect(exits).toEqual(["SIGKILL"]);
    let quietUp = false;
    const quiet = supervise(options(["/bin/sh", "-c", "echo up; exec sleep 60"], { onLine: () => (quietUp = true), onExit: () => exits.push("unexpected") }));
    await quiet.whenReady(() => quietUp, { timeoutMs: 10_000, pollMs: 10 });
    await quiet.stop();
    expect(exits).toEqual(["SIGKILL"]);
  });

  describe("the watchdog, after a SIGKILL of lamp's own process", () => {
    const tsx = path.resolve("node_modules/.bin/tsx");
    const fixture = path.resolve("test/core/fixtures/supervise-then-wait.ts");

    /** Starts the fixture, waits for what it started, then SIGKILLs it and tsx's node under it. */
    async function superviseThenDie(folder: string, removes: "remove" | "leave", graceMs: number, marker: string) {
      const parent = spawn(tsx, [fixture, folder, removes, String(graceMs), marker], { stdio: ["ignore", "pipe", "inherit"] });
      const started = await new Promise<{ pid: number; grandchild: number }>((resolve, reject) => {
        let output = "";
        parent.stdout.setEncoding("utf8").on("data", (text: string) => {
          output += text;
          if (output.includes("\n")) resolve(JSON.parse(output));
        });
        parent.once("exit", (code) => reject(new Error(`exited ${code} before supervising`)));
      });
      expect(isRunning(started.pid)).toBe(true);
      for (const pid of execFileSync("pgrep", ["-P", String(parent.pid)]).toString().trim().split("\n").map(Number)) process.kill(pid, "SIGKILL");
      parent.kill("SIGKILL");
      return started;
    }

    it("asks the program to stop (SIGTERM), kills its whole group after the grace period, and removes the run's folder", async () => {
      const folder = path.join(scratch, "orphaned");
      mkdirSync(folder);
      writeFileSync(path.join(folder, "socket"), "");
      const marker = path.join(scratch, "orphaned-marker");
      const started = await superviseThenDie(folder, "remove", 700, marker);
      expect(await until(() => !isRunning(started.pid) && !isRunning(started.grandchild))).toBe(true);
      expect(readFileSync(marker, "utf8")).toBe("TERM\n");
      expect(await until(() => !existsSync(folder))).toBe(true);
    });

    it("leaves the folder to the next start when told to (MariaDB's run folder)", async () => {
      const folder = path.join(scratch, "orphaned-kept");
      mkdirSync(folder);
      const started = await superviseThenDie(folder, "leave", 200, path.join(scratch, "kept-marker"));
      expect(await until(() => !isRunning(started.pid) && !isRunning(started.grandchild))).toBe(true);
      expect(existsSync(folder)).toBe(true);
    });
  });
});
