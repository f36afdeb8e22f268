import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LampError } from "../core/errors.js";
import { findExecutable } from "../core/executables.js";

/** How to reach a database with the MariaDB/MySQL client tools. */
export interface ClientConnection {
  host: string;
  port: number;
  /** A local server's unix socket (faster than TCP, and what `lamp dev`'s server offers). */
  socketPath?: string;
  database: string;
  username: string;
  password: string;
  /** Aurora requires TLS. */
  tls: boolean;
}

const clientHint = "Install the MariaDB client — Debian/Ubuntu: `sudo apt-get install mariadb-client`; macOS: `brew install mariadb`.";

export function findClientTool(kind: "client" | "dump", env: NodeJS.ProcessEnv): string {
  const names = kind === "client" ? ["mariadb", "mysql"] : ["mariadb-dump", "mysqldump"];
  const found = findExecutable(names, env);
  if (!found) throw new LampError("dependency", `${names.join(" or ")} was not found (looked on PATH and in the sbin folders).`, clientHint);
  return found;
}

function optionValue(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The client's option file: the password goes here (a 0600 file in a private temp folder), never on a
 * command line that `ps` shows, never in lamp's output. `--defaults-file` makes it the only one read,
 * so a ~/.my.cnf cannot point the tools at another server.
 */
export function clientOptionFile(connection: ClientConnection): string {
  const lines = ["[client]", `user=${optionValue(connection.username)}`, `password=${optionValue(connection.password)}`];
  if (connection.socketPath) {
    lines.push(`socket=${optionValue(connection.socketPath)}`, "protocol=socket");
  } else {
    lines.push(`host=${optionValue(connection.host)}`, `port=${connection.port}`, "protocol=tcp");
  }
  if (connection.tls) lines.push("ssl");
  lines.push("default-character-set=utf8mb4");
  return `${lines.join("\n")}\n`;
}

/** Runs `work` with the option file in place, and removes it afterwards whatever happens. */
export async function withOptionFile<T>(connection: ClientConnection, work: (optionFile: string) => Promise<T>): Promise<T> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "lamp-db-client-"));
  const file = path.join(directory, "client.cnf");
  try {
    writeFileSync(file, clientOptionFile(connection), { mode: 0o600 });
    return await work(file);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Arguments for the client tools: the option file first (the tools require it there), then the rest. */
export function clientArgs(optionFile: string, args: string[]): string[] {
  return [`--defaults-file=${optionFile}`, ...args];
}

/** Waits for a tool to end; its last stderr lines make the error when it fails. */
export function finished(child: ChildProcess, tool: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("error", (error) => reject(new LampError("dependency", `Cannot run ${tool}: ${error.message}`, clientHint)));
    child.once("close", (code, signal) => {
      if (code === 0) return resolve();
      const detail = stderr().trim().split("\n").filter(Boolean).slice(-2).join(" | ");
      reject(new LampError("failed", `${path.basename(tool)} failed (${signal ?? `exit code ${code}`})${detail ? `: ${detail}` : "."}`));
    });
  });
}

/** One SQL statement's first column of the first row, through the client. */
export async function queryValue(client: string, optionFile: string, database: string, sql: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(client, clientArgs(optionFile, ["--batch", "--skip-column-names", "-e", sql, database]), { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  await finished(child, client, () => stderr);
  return stdout.split("\n")[0]!.split("\t")[0]!;
}
