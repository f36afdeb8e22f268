import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync, unlinkSync, writeSync } from "node:fs";
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
 * The client's options, the password among them: never on a command line that `ps` shows, never in
 * lamp's output, never in a named file (a SIGKILL would leave it behind). The tools read them from an
 * inherited descriptor (see spawnClientTool); `--defaults-file` makes them the only options read, so a
 * ~/.my.cnf cannot point the tools at another server.
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

/** The descriptor the options travel on: the child reads `/dev/fd/3` as its option file. */
const optionsDescriptor = 3;

/** Linux's O_TMPFILE (not in fs.constants): a file with no name, gone when its last descriptor closes. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/**
 * A descriptor of a file holding `content` that has no name in any folder, so no exit of lamp, even
 * SIGKILL, leaves it behind: the kernel frees it when the last holder closes it. (Node's pipes are
 * socket pairs, which `/dev/fd/3` cannot open; a real file can.) Where O_TMPFILE is missing (macOS,
 * some file systems), a private file unlinked the moment it is opened.
 */
function unnamedFile(content: string): number {
  const directory = os.tmpdir();
  let fd: number;
  try {
    fd = openSync(directory, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const file = path.join(directory, `lamp-db-client-${process.pid}-${randomBytes(6).toString("hex")}`);
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    unlinkSync(file);
  }
  // At position 0, leaving the offset there: on macOS /dev/fd/3 shares this descriptor's offset.
  writeSync(fd, content, 0, "utf8");
  return fd;
}

/** Starts a client tool with the connection's options (the password among them) on descriptor 3. */
export function spawnClientTool(
  tool: string,
  connection: ClientConnection,
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdio: [StdioOption, StdioOption, StdioOption] },
): ChildProcess {
  const fd = unnamedFile(clientOptionFile(connection));
  try {
    // The option file must come first: the tools only honour --defaults-file there.
    return spawn(tool, [`--defaults-file=/dev/fd/${optionsDescriptor}`, ...args], { env: options.env, stdio: [...options.stdio, fd] });
  } finally {
    closeSync(fd);
  }
}

type StdioOption = "ignore" | "inherit" | "pipe";

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
export async function queryValue(client: string, connection: ClientConnection, sql: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawnClientTool(client, connection, ["--batch", "--skip-column-names", "-e", sql, connection.database], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  await finished(child, client, () => stderr);
  return stdout.split("\n")[0]!.split("\t")[0]!;
}

/**
 * The flags that make a client run a dump as SQL only. A dump is data from elsewhere, and the
 * clients obey commands in it: `\! cmd` and `system cmd` run a shell as the user, `tee` writes and
 * `source` reads the user's files, LOAD DATA LOCAL sends them to the server. MariaDB's client refuses
 * all but the last with `--sandbox` (10.5.25, 10.6.18, 10.11.8 and later); MySQL's ignores client
 * commands with `--commands=OFF` (newer 8.0 and 8.4 releases). A client with neither is refused.
 */
export async function importSafetyFlags(client: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const help = await new Promise<string>((resolve) => {
    const child = spawn(client, ["--no-defaults", "--help"], { env, stdio: ["ignore", "pipe", "ignore"] });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.once("error", () => resolve(""));
    child.once("close", () => resolve(output));
  });
  const noLocalFiles = "--local-infile=0";
  if (/^\s*--sandbox\b/m.test(help)) return ["--sandbox", noLocalFiles];
  if (/^\s*--commands\b/m.test(help)) return ["--commands=OFF", noLocalFiles];
  throw new LampError(
    "dependency",
    `${client} cannot refuse the shell commands a dump may hold (\\! or system run a shell as you), so lamp db import will not run a dump with it.`,
    "Install a client that can: MariaDB's 10.11.8 or later (Debian/Ubuntu: `sudo apt-get install mariadb-client`; macOS: `brew install mariadb`), or a MySQL client with --commands.",
  );
}
