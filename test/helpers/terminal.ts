import { spawn } from "node:child_process";
import { lampBin } from "./run-lamp.js";

/**
 * Runs the built CLI inside a pseudo-terminal (util-linux `script`), so it behaves as it does
 * for a person at a terminal: prompts appear and keys can be typed.
 */
export function runLampInTerminal(args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const command = [process.execPath, lampBin, ...args].map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
  // A pseudo-terminal made without a parent terminal is 0 columns wide: give it a real size.
  const child = spawn("script", ["-qfec", `stty cols 100 rows 40; exec ${command}`, "/dev/null"], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm-256color", NO_COLOR: "1", ...extraEnv },
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group, so a test that gives up can end `script`, the shell and lamp together.
    detached: true,
  });
  const killAll = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  let screen = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    screen += chunk.toString("utf8");
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(screen)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    exited,
    get screen() {
      return screen;
    },
    /** Waits until the screen shows `pattern` (10 s at most). */
    waitFor(pattern: RegExp): Promise<void> {
      if (pattern.test(screen)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          killAll();
          reject(new Error(`Timed out waiting for ${pattern} in:\n${screen}`));
        }, 10_000);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    type(keys: string) {
      child.stdin.write(keys);
    },
    /** Ends whatever is still running (for afterEach). */
    kill: killAll,
  };
}
