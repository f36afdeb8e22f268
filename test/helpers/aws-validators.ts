import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { repoRoot } from "./run-lamp.js";

/**
 * AWS's own validators (cfn-lint, the SAM translator) and moto server, as scripts/setup.sh unpacks
 * them (.cache/aws-validators/bin), or wherever LAMP_AWS_VALIDATORS points (a folder holding
 * cfn-lint, sam-translate and moto-server, e.g. made from the pinned PyPI versions).
 */
export const validatorsBin = process.env.LAMP_AWS_VALIDATORS ?? path.join(repoRoot, ".cache", "aws-validators", "bin");
export const validatorTools = ["cfn-lint", "sam-translate", "moto-server"] as const;
export const tool = (name: (typeof validatorTools)[number]) => path.join(validatorsBin, name);
export const missingValidators = validatorTools.filter((name) => !existsSync(tool(name)));
export const validatorsAvailable = missingValidators.length === 0;

if (!validatorsAvailable) {
  // Loud locally; in CI the test file's first test fails on the same condition.
  console.warn(
    `\n!!! AWS validators missing in ${validatorsBin} (${missingValidators.join(", ")}): the template validation tests are SKIPPED.` +
      "\n!!! Run `bash scripts/setup.sh` (it unpacks ../shared/aws-validators), or set LAMP_AWS_VALIDATORS.\n",
  );
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: string[], options: { cwd?: string } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface MotoServer {
  endpointUrl: string;
  /** Forgets every resource (moto's own reset API): the next test starts from an empty account. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** One moto server (an AWS emulator) on a free port, ready when this resolves. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(tool("moto-server"), [String(port)], { stdio: ["ignore", "ignore", "pipe"], detached: false });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const endpointUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto-server exited (${child.exitCode}): ${log}`);
    try {
      if ((await fetch(`${endpointUrl}/moto-api/data.json`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto-server did not answer on ${endpointUrl} within 30 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpointUrl,
    reset: async () => {
      const response = await fetch(`${endpointUrl}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset: HTTP ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
