import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./run-lamp.js";

/**
 * AWS's own validators and emulator (cfn-lint, the SAM translator, moto), bundled in the shared
 * folder beside the repository as aws-validators.tar.gz and unpacked once into the temp folder.
 * AWS_VALIDATORS_BIN names an unpacked bin/ folder instead.
 */
function validatorsBin(): string | undefined {
  const candidates = [process.env.AWS_VALIDATORS_BIN, "/tmp/awsv/aws-validators/bin", path.join(tmpdir(), "lamp-aws-validators", "aws-validators", "bin")];
  const found = candidates.find((dir) => dir && existsSync(path.join(dir, "moto-server")));
  if (found) return found;
  // CI clones the repository beside shared/; a developer's worktree may sit one folder deeper.
  const archive = [path.join(repoRoot, ".."), path.join(repoRoot, "..", "..")]
    .map((dir) => path.join(dir, "shared", "aws-validators", "aws-validators.tar.gz"))
    .find((file) => existsSync(file));
  if (!archive) return undefined;
  const target = path.join(tmpdir(), "lamp-aws-validators");
  mkdirSync(target, { recursive: true });
  if (spawnSync("tar", ["xzf", archive, "-C", target]).status !== 0) return undefined;
  return path.join(target, "aws-validators", "bin");
}

/** The tool's path, or undefined with a loud warning (a failure in CI) when it cannot run here. */
export function awsValidator(tool: "moto-server" | "cfn-lint" | "sam-translate", what: string): string | undefined {
  const bin = validatorsBin();
  const file = bin && path.join(bin, tool);
  // moto and cfn-lint need Debian's python3 packages (python3-boto3 and friends).
  const works = file && spawnSync("python3", ["-c", "import boto3, werkzeug, flask, yaml, jsonschema"]).status === 0;
  if (file && works) return file;
  const message = file ? "python3 lacks boto3/werkzeug/flask (see the validators' README for Debian's packages)" : "aws-validators not found (../shared/aws-validators or AWS_VALIDATORS_BIN)";
  if (process.env.CI) throw new Error(`${tool} is required in CI for ${what}: ${message}`);
  console.warn(`\n⚠⚠⚠ SKIPPING ${what}: ${message} ⚠⚠⚠\n`);
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Moto {
  endpointUrl: string;
  stop(): Promise<void>;
}

/** One moto server (its own port and state), answering once it is up. */
export async function startMoto(binary: string): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn(binary, [String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-4000)));
  const endpointUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto-server exited: ${stderr}`);
    try {
      await fetch(`${endpointUrl}/moto-api/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`moto-server did not answer on ${endpointUrl}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    endpointUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
