import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { lampBin } from "./run-lamp.js";

export interface LampDevRun {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** stdout and stderr as they arrived. */
  output(): string;
  /** The result (the URL) and the request lines; banners and warnings go to stderr. */
  stdout(): string;
  stderr(): string;
  /** The exit code, or null when a signal ended it. */
  exit: Promise<number | null>;
}

/** Starts `lamp dev` as a user would (the built CLI, no terminal) and resolves once it prints its URL. */
export function startLampDev(cwd: string, args: string[] = ["--port", "0", "--workers", "2"], env: NodeJS.ProcessEnv = {}): Promise<LampDevRun> {
  const child = spawn(process.execPath, [lampBin, "dev", ...args], {
    cwd,
    // An undefined value leaves the variable out (TMPDIR: undefined = the system's).
    env: Object.fromEntries(Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env }).filter(([, value]) => value !== undefined)),
  });
  let output = "";
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => ((output += text), (stdout += text)));
  child.stderr.setEncoding("utf8").on("data", (text: string) => ((output += text), (stderr += text)));
  const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = /lamp dev: (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1]!, output: () => output, stdout: () => stdout, stderr: () => stderr, exit });
    };
    child.stdout.on("data", check);
    void exit.then((code) => reject(new Error(`lamp dev exited (${code}) before serving:\n${output}`)));
  });
}
