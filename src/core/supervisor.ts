import { spawn, type ChildProcess, type IOType } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import type { Clock } from "./clock.js";

/**
 * One way to run a long-lived child program (php-fpm, MariaDB, whatever comes next): in a process
 * group of its own, its output split into lines with a bounded tail kept for error messages, a
 * readiness probe with a deadline on the injected clock, stopped with a signal then SIGKILL after a
 * grace period — and a watchdog so that not even a SIGKILL of lamp leaves it behind.
 */

/** A line longer than this is passed on in pieces: a program that never writes a newline cannot fill lamp's memory. */
export const maxLineLength = 64 * 1024;

/** The last `size` lines, oldest first: what an error message quotes when the program fails. */
export class BoundedTail {
  private readonly recent: string[] = [];

  constructor(private readonly size: number) {}

  add(line: string): void {
    this.recent.push(line);
    if (this.recent.length > this.size) this.recent.splice(0, this.recent.length - this.size);
  }

  lines(): string[] {
    return [...this.recent];
  }
}

/** Splits text as it arrives into non-empty lines. Pure. */
export class LineSplitter {
  private partial = "";

  /** The complete lines in `text` (with what was left over from before). */
  push(text: string): string[] {
    const pieces = (this.partial + text).split("\n");
    this.partial = pieces.pop()!;
    while (this.partial.length > maxLineLength) {
      pieces.push(this.partial.slice(0, maxLineLength));
      this.partial = this.partial.slice(maxLineLength);
    }
    return pieces.filter(Boolean);
  }

  /** At the end of the stream: the last line, even without its newline. */
  end(): string[] {
    const last = this.partial;
    this.partial = "";
    return last ? [last] : [];
  }
}

/** Stops a process: `ask` (a polite signal), then `force` if it has not ended within graceMs. */
export interface Escalation {
  ask(): void;
  force(): void;
  /** Resolves (never rejects) when the process has ended. */
  ended: Promise<unknown>;
  graceMs: number;
  clock: Clock;
}

/** Asks, waits up to the grace period on the clock, forces. Resolves once the process ended; true if it had to be forced. */
export async function escalate({ ask, force, ended, graceMs, clock }: Escalation): Promise<boolean> {
  ask();
  const timer = new AbortController();
  const graceOver = clock.sleep(graceMs, timer.signal).then(
    () => true,
    () => false,
  );
  const forced = await Promise.race([ended.then(() => false), graceOver]);
  timer.abort();
  if (forced) force();
  await ended;
  return forced;
}

/**
 * The watchdog: holds the read end of a pipe (fd 3) whose only writer is lamp. When lamp ends in any
 * way — SIGKILL included — the pipe reaches end-of-file, and it does what stop() does: the stop
 * signal, up to the grace period for the program to end, the run's folder removed, then SIGKILL to
 * the whole group (itself included). Signals to the group do not end it early. A shell of its own
 * (no single quotes: it is quoted in startScript) so that its command line does not repeat the
 * program's: a search for the program by its arguments (MariaDB's data folder) finds the program only.
 * $1 stop signal, $2 grace in tenths of a second, $3 folder to remove (or empty), $4 the program's pid.
 */
const watchdogBody = [
  'trap "" INT TERM HUP QUIT',
  "while read -r _ <&3; do :; done",
  'kill -"$1" "$4"',
  "waited=0",
  // A zombie (ended, not yet reaped) counts as gone.
  'while [ "$waited" -lt "$2" ] && kill -0 "$4" && case "$(cat /proc/$4/stat 2>/dev/null)" in *") Z "*) false;; *) true;; esac; do sleep 0.1; waited=$((waited + 1)); done',
  'if [ -n "$3" ]; then rm -rf "$3"; fi',
  "kill -9 0",
].join("\n");

/**
 * The child is started by this shell script: it starts the watchdog in the background (the same
 * process group) with the pipe on its stdin moved to fd 3, then `exec`s the program — which so keeps the
 * shell's pid. $0 the watchdog's name, $1–$3 as in the watchdog, then the program's command line.
 */
const startScript = [
  "exec 3<&0 </dev/null",
  `/bin/sh -c '${watchdogBody}' "$0" "$1" "$2" "$3" $$ >/dev/null 2>&1 &`,
  "exec 3<&-",
  "shift 3",
  'exec "$@"',
].join("\n");

export interface SuperviseOptions {
  /** The program and its arguments. */
  command: readonly string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** The watchdog's process title (its $0), as `ps` shows it beside the program. */
  watchdogName: string;
  /**
   * To run the program in a sandbox: given the start script (for /bin/sh; its $0 is args[0]) and its
   * arguments, the command line to spawn instead and variables to add. It must `exec` the script's
   * shell (e.g. `unshare … /bin/sh -c "<setup>\n<script>" args…`), so the pid stays the program's.
   */
  wrap?(script: string, args: readonly string[]): { command: string[]; env?: NodeJS.ProcessEnv };
  /** Each line the program writes to stdout or stderr. */
  onLine(line: string): void;
  /** How many of the last lines to keep for an error message. */
  tailLines: number;
  /** What asks the program to stop (default SIGTERM), and how long it gets before SIGKILL. */
  stopSignal?: NodeJS.Signals;
  graceMs: number;
  /** The run's own folder: removed once the program is gone, by stop() and when lamp exits. */
  folder?: string;
  /** Whether the watchdog removes the folder too after lamp's death (default true). */
  watchdogRemovesFolder?: boolean;
  /** Called if the program exits after it was ready and before stop(). */
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
  clock: Clock;
}

export type Readiness =
  | { state: "ready" }
  | { state: "spawn-failed"; error: Error }
  | { state: "exited"; code: number | null; signal: NodeJS.Signals | null; tail: string[] }
  | { state: "timed-out" };

export interface Supervised {
  pid: number;
  readonly exited: boolean;
  /**
   * Polls `probe` until it holds. Anything but "ready" (the program could not start, ended, or the
   * deadline passed) has stopped it, folder removed, before this resolves.
   */
  whenReady(probe: () => boolean | Promise<boolean>, options: { timeoutMs: number; pollMs: number }): Promise<Readiness>;
  /** The stop signal, SIGKILL to the group after the grace period, the folder removed. Idempotent. */
  stop(): Promise<void>;
}

/** How a program is started under the watchdog: what runs, and what the watchdog does after lamp's death. */
export type WatchedStart = Pick<SuperviseOptions, "command" | "cwd" | "env" | "watchdogName" | "wrap" | "stopSignal" | "graceMs"> & {
  /** Removed by the watchdog once the program is gone after lamp's death (none when undefined). */
  orphanFolder?: string;
  /** The program's stdout and stderr: read by lamp ("pipe"), or file descriptors of lamp's own. Its stdin is /dev/null. */
  output: [IOType | number, IOType | number];
};

/**
 * Spawns `command` under the watchdog, in a new process group: the one start for programs that
 * must not outlive lamp, whether supervised below or followed by a command of its own (`lamp run`).
 * Its stdin is the watchdog's pipe: lamp must leave it open. Throws if it cannot even be spawned.
 */
export function spawnWatched(start: WatchedStart): ChildProcess {
  const signalName = (start.stopSignal ?? "SIGTERM").replace(/^SIG/, "");
  const watchdogArgs = [start.watchdogName, signalName, String(Math.ceil(start.graceMs / 100)), start.orphanFolder ?? "", ...start.command];
  const wrapped = start.wrap?.(startScript, watchdogArgs);
  const command = wrapped?.command ?? ["/bin/sh", "-c", startScript, ...watchdogArgs];
  const env = wrapped?.env ? { ...start.env, ...wrapped.env } : start.env;
  // Its own process group (detached): the terminal's Ctrl-C reaches lamp alone, which stops it in
  // order, and one signal to the group reaches the program, anything it forked, and the watchdog.
  const child = spawn(command[0]!, command.slice(1), { cwd: start.cwd, env, stdio: ["pipe", ...start.output], detached: true });
  // Nothing is ever written to the watchdog's pipe; an error on it only means the group is gone.
  child.stdin?.on("error", () => {});
  return child;
}

/** Starts `command` under the watchdog, in a new process group. Throws if it cannot even be spawned (bad options). */
export function supervise(options: SuperviseOptions): Supervised {
  const orphanFolder = options.watchdogRemovesFolder === false ? undefined : options.folder;
  return new SupervisedChild(spawnWatched({ ...options, orphanFolder, output: ["pipe", "pipe"] }), options);
}

/** One supervised child: its output, its end, readiness, stop. */
class SupervisedChild implements Supervised {
  readonly pid: number;
  exited = false;
  private ready = false;
  private stopping = false;
  private spawnError: Error | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  private readonly recent: BoundedTail;
  private readonly ended: Promise<void>;
  /** Its output streams are closed too: every line it wrote has been read. */
  private readonly drained: Promise<void>;
  private stopped: Promise<void> | undefined;
  // If lamp exits without stopping it (an exception, process.exit): asked now, the watchdog finishes the job.
  private readonly onLampExit = () => {
    if (!this.exited) signalProcess(this.child.pid, this.options.stopSignal ?? "SIGTERM");
    this.removeFolder();
  };

  constructor(
    private readonly child: ChildProcess,
    private readonly options: SuperviseOptions,
  ) {
    this.pid = child.pid ?? 0;
    this.recent = new BoundedTail(options.tailLines);
    this.ended = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        // Anything the program forked (php-fpm's workers), and the watchdog, may outlive it.
        this.killGroup();
        if (this.ready && !this.stopping) options.onExit?.(code, signal);
        resolve();
      });
    });
    this.drained = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.once("error", (error) => {
      this.spawnError = error;
      this.exited = true;
    });
    for (const stream of [child.stdout, child.stderr]) if (stream) this.forward(stream);
    process.once("exit", this.onLampExit);
  }

  async whenReady(probe: () => boolean | Promise<boolean>, { timeoutMs, pollMs }: { timeoutMs: number; pollMs: number }): Promise<Readiness> {
    const deadline = this.options.clock.now() + timeoutMs;
    let failed: Readiness | undefined;
    for (;;) {
      if (this.exited) await this.outputRead();
      failed = this.endState();
      if (failed) break;
      if (await probe()) {
        this.ready = true;
        return { state: "ready" };
      }
      if (this.options.clock.now() > deadline) {
        failed = { state: "timed-out" };
        break;
      }
      await this.options.clock.sleep(pollMs);
    }
    await this.stop();
    return failed;
  }

  // A property, not a method: callers hand it on as a plain function (`stop: server.stop`).
  readonly stop = (): Promise<void> => (this.stopped ??= this.stopOnce());

  private async stopOnce(): Promise<void> {
    this.stopping = true;
    const { child, options } = this;
    if (!this.exited && child.pid !== undefined) {
      const ask = () => signalProcess(child.pid, options.stopSignal ?? "SIGTERM");
      await escalate({ ask, force: () => this.killGroup(), ended: this.ended, graceMs: options.graceMs, clock: options.clock });
    }
    this.killGroup();
    // A moment for the kernel to end them all (bounded: a zombie nobody reaps would answer forever).
    for (let waited = 0; waited < 1_000 && child.pid !== undefined && groupAlive(child.pid); waited += 5) await options.clock.sleep(5);
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
    process.off("exit", this.onLampExit);
    this.removeFolder();
  }

  /** Waits (a second at most: a grandchild may hold its output open) until the program's last lines are read. */
  private async outputRead(): Promise<void> {
    const timer = new AbortController();
    await Promise.race([this.drained, this.options.clock.sleep(1_000, timer.signal).catch(() => {})]);
    timer.abort();
  }

  /** The program's end, if it has ended (or never started). */
  private endState(): Readiness | undefined {
    if (this.spawnError) return { state: "spawn-failed", error: this.spawnError };
    return this.exited ? { state: "exited", ...this.exitInfo, tail: this.recent.lines() } : undefined;
  }

  private forward(stream: NodeJS.ReadableStream): void {
    const splitter = new LineSplitter();
    const pass = (lines: string[]) => {
      for (const line of lines) {
        this.recent.add(line);
        this.options.onLine(line);
      }
    };
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => pass(splitter.push(text)));
    stream.on("end", () => pass(splitter.end()));
  }

  private killGroup(): void {
    if (this.child.pid !== undefined) signalProcess(-this.child.pid, "SIGKILL");
  }

  private removeFolder(): void {
    if (this.options.folder) rmSync(this.options.folder, { recursive: true, force: true });
  }
}

function signalProcess(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Whether any process of a group still runs. A zombie does not: the watchdog, orphaned when the
 * program ends, may wait a while for init to reap it (Linux: /proc tells; elsewhere any member counts).
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return pids.some((pid) => {
    try {
      // After the command's closing parenthesis: state, ppid, pgrp.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(group) === pgid && state !== "Z" && state !== "X";
    } catch {
      return false; // ended meanwhile
    }
  });
}

/** Whether a process still runs. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (ended, not yet reaped) does not run.
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}
