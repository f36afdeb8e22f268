import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import type { Clock } from "../core/clock.js";
import { LampError, errnoCode } from "../core/errors.js";
import { findExecutable, isExecutableFile, sbinDirectories } from "../core/executables.js";
import { supervise, type Readiness, type Supervised } from "../core/supervisor.js";
import { diskFullError, freeBytes, installBytes, lockDataFolder, looksLikeDiskFull, removeInterruptedInstalls, removeStaleRunFolders, runFolderPrefix } from "./data-folder.js";
import { startTlsGate } from "./tls-gate.js";
import { databaseUsername, databaseVariables, doctrineServerVersion, type DatabaseAddress, type DatabaseVariables } from "./variables.js";

const installHint = "Install MariaDB — Debian/Ubuntu: `sudo apt-get install mariadb-server`; macOS: `brew install mariadb` — or put mariadbd on PATH.";

/** mariadbd (or MySQL's mysqld) on PATH, then in the sbin folders; a LampError naming the package when missing. */
export function findDatabaseServer(env: NodeJS.ProcessEnv, directories: readonly string[] = sbinDirectories): string {
  const found = findExecutable(["mariadbd", "mysqld"], env, directories);
  if (!found) {
    throw new LampError(
      "dependency",
      `mariadbd (or mysqld) was not found on PATH or in ${directories.slice(0, 2).join(", ")}: this project has a database (lamp.json \`database\`), which \`lamp dev\` runs locally.`,
      installHint,
    );
  }
  return found;
}

/** mariadb-install-db: beside the server's bin folder, or on PATH. */
function findInstaller(server: string, env: NodeJS.ProcessEnv): string {
  const names = ["mariadb-install-db", "mysql_install_db"];
  const besideServer = [path.dirname(server), path.join(path.dirname(server), "..", "bin")];
  const found = findExecutable(names, { PATH: [...besideServer, env.PATH ?? ""].join(path.delimiter) }, sbinDirectories);
  if (!found) throw new LampError("dependency", `mariadb-install-db was not found beside ${server} or on PATH: it creates the local database's data folder.`, installHint);
  return found;
}

export interface LocalDatabaseOptions {
  /** The project's own folder for it, e.g. `<project>/.lamp/mariadb`: the data, its password, the pid file. */
  directory: string;
  /** The database the application uses; created on first start (and whenever lamp.json names a new one). */
  database: string;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** An explicit server binary instead of searching PATH and sbin. */
  binary?: string;
  /** The server's own log lines (notes, warnings). */
  onLog?(line: string): void;
  /** Called if the server exits while it should be running. */
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
  readyTimeoutMs?: number;
}

export interface LocalDatabase {
  address: DatabaseAddress;
  /** What PHP gets: DB_HOST … DATABASE_URL. */
  variables: DatabaseVariables;
  binary: string;
  /** The server's VERSION(), e.g. 10.11.19-MariaDB-0+deb12u1. */
  version: string;
  pid: number;
  /** A unix socket in a per-run temp folder (a project path can be too long for one). */
  socketPath: string;
  dataDirectory: string;
  /** Shuts the server down cleanly (data flushed) and removes the run's temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** Paths inside the project's database folder. */
export function localDatabasePaths(directory: string): { data: string; password: string; pid: string; server: string; tls: string } {
  return {
    // The server's certificate and the CA that signed it, made once per project (see localCertificates).
    tls: path.join(directory, "tls"),
    data: path.join(directory, "data"),
    password: path.join(directory, "password"),
    pid: path.join(directory, "mariadbd.pid"),
    // Where a running server says how to reach it, for `lamp db` while `lamp dev` runs.
    server: path.join(directory, "server.json"),
  };
}

/** The server `lamp dev` is running for this project right now, if any: how to reach it. */
export interface RunningDatabase {
  pid: number;
  port: number;
  socketPath: string;
  version: string;
}

export function runningLocalDatabase(directory: string): RunningDatabase | undefined {
  const paths = localDatabasePaths(path.resolve(directory));
  const pid = runningServer(paths.pid, paths.data);
  if (pid === undefined) return undefined;
  try {
    const running = JSON.parse(readFileSync(paths.server, "utf8")) as RunningDatabase;
    return running.pid === pid ? running : undefined;
  } catch {
    return undefined;
  }
}

/** A server of this data folder that is still running (another `lamp dev` of the same project), if any. */
function runningServer(pidFile: string, dataDirectory: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // The pid may have been reused by an unrelated process since: only its command line tells.
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return commandLine.includes(dataDirectory) ? pid : undefined;
  } catch {
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

/**
 * Creates the data folder once, in a staging folder renamed at the end: an interrupted install
 * leaves no half-made data folder (its staging folder is removed at the next start). A data folder
 * without MariaDB's `mysql` schema that holds anything at all is not replaced: it may hold tables.
 */
async function initialiseDataDirectory(server: string, dataDirectory: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (existsSync(path.join(dataDirectory, "mysql"))) return;
  refuseIncompleteDataDirectory(dataDirectory);
  const free = freeBytes(path.dirname(dataDirectory));
  if (free !== undefined && free < installBytes) throw diskFullError(path.dirname(dataDirectory), free, installBytes);
  const installer = findInstaller(server, env);
  const staging = `${dataDirectory}.partial-${randomBytes(4).toString("hex")}`;
  const args = ["--no-defaults", `--datadir=${staging}`, "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"];
  if (process.getuid?.() === 0) args.push("--user=root");
  // Its own temp folder: two installs at once (two new projects) otherwise collide on the bootstrap's temporary tables.
  const temporary = mkdtempSync(runFolderPrefix("install"));
  try {
    const result = await run(installer, args, { ...env, TMPDIR: temporary }).catch((error: Error) => ({ code: -1, output: error.message }));
    if (result.code !== 0) {
      const lines = result.output.split("\n");
      const full = looksLikeDiskFull(lines, path.dirname(dataDirectory));
      if (full !== undefined) throw diskFullError(path.dirname(dataDirectory), full, installBytes);
      const detail = lines.filter((line) => /error/i.test(line)).slice(-2).join(" | ") || result.output.trim().split("\n").slice(-2).join(" | ");
      throw new LampError("failed", `${installer} could not create the database folder ${dataDirectory}: ${detail}`, "Check that the folder is writable and MariaDB is installed completely.");
    }
    // Only an empty folder can be here (refuseIncompleteDataDirectory): rmdir, never a recursive delete.
    await rmdir(dataDirectory).catch((error: unknown) => {
      if (errnoCode(error) !== "ENOENT") throw error;
    });
    await rename(staging, dataDirectory);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(temporary, { recursive: true, force: true });
  }
}

/** A data folder that is not empty but lacks the `mysql` schema: never deleted, never installed over. */
function refuseIncompleteDataDirectory(dataDirectory: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dataDirectory);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw new LampError("io", `Cannot read ${dataDirectory}: ${errnoCode(error) ?? (error as Error).message}.`);
  }
  if (entries.length === 0) return;
  // Its folders first: each is a database (the app's tables) of its own.
  const folders = entries.filter((name) => statSync(path.join(dataDirectory, name), { throwIfNoEntry: false })?.isDirectory()).sort();
  const files = entries.length - folders.length;
  const shown = [...folders.map((name) => `${name}/`), ...(files ? [`${files} file${files === 1 ? "" : "s"}`] : [])].join(", ");
  throw new LampError(
    "failed",
    `${dataDirectory} is not a complete MariaDB data folder (no \`mysql\` system schema) but holds ${shown}: lamp will not delete or replace it, as it may hold your tables.`,
    `Move it aside (\`mv ${dataDirectory} ${dataDirectory}.old\`) to start with a new, empty database, and restore what you need from it or from an export (\`lamp db import\`).`,
  );
}

export interface LocalCertificates {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A CA of the project's own and a server certificate it signs for 127.0.0.1, made with openssl on
 * first start (in a staging folder renamed at the end). The local server requires TLS with them, as
 * Aurora does, and PHP gets the CA as MYSQL_ATTR_SSL_CA: an app that connects without TLS fails
 * under lamp dev, not first in AWS.
 */
export async function localCertificates(directory: string, env: NodeJS.ProcessEnv): Promise<LocalCertificates> {
  const files = { ca: path.join(directory, "ca.pem"), cert: path.join(directory, "server-cert.pem"), key: path.join(directory, "server-key.pem") };
  if (Object.values(files).every((file) => existsSync(file))) return files;
  const staging = `${directory}.partial-${randomBytes(4).toString("hex")}`;
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const openssl = async (args: string[]) => {
    const result = await run("openssl", args, env).catch((error: Error) => ({ code: -1, output: error.message }));
    if (result.code !== 0) {
      throw new LampError("dependency", `openssl could not make the local database's TLS certificate: ${result.output.trim().split("\n").slice(-1)[0]}`, "Install openssl (Debian/Ubuntu: apt-get install openssl).");
    }
  };
  try {
    const at = (name: string) => path.join(staging, name);
    await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca-key.pem"), "-out", at("ca.pem"), "-days", "3650", "-subj", "/CN=serverless-lamp local database CA"]);
    await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", at("server-key.pem"), "-out", at("server.csr"), "-subj", "/CN=127.0.0.1"]);
    await writeFile(at("server.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n");
    await openssl(["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca-key.pem"), "-CAcreateserial", "-out", at("server-cert.pem"), "-days", "3650", "-extfile", at("server.ext")]);
    await rm(directory, { recursive: true, force: true });
    await rename(staging, directory);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return files;
}

/** The application's password, generated once and kept beside the data (never printed). */
async function localPassword(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing) return existing;
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw new LampError("io", `Cannot read ${file}: ${(error as Error).message}`);
  }
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

function quoteString(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** Run by the server at each start: the database and its user exist, with the project's password. Idempotent. */
export function bootstrapSql(database: string, username: string, password: string): string {
  const db = quoteIdentifier(database);
  const lines = [`CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`];
  // '%' for TCP (what PHP uses, as in AWS), 'localhost' for the unix socket (`lamp db shell`).
  for (const host of ["%", "localhost"]) {
    const user = `${quoteString(username)}@${quoteString(host)}`;
    lines.push(`CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${quoteString(password)};`);
    lines.push(`ALTER USER ${user} IDENTIFIED BY ${quoteString(password)};`);
    lines.push(`GRANT ALL PRIVILEGES ON ${db}.* TO ${user};`);
  }
  return `${lines.join("\n")}\n`;
}

/** A TCP port free right now on 127.0.0.1 (the server may still lose a race for it: start() retries). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Settings that make MariaDB behave as Aurora MySQL 8 does for an application: utf8mb4 and MySQL 8's
 * SQL mode, so a query MySQL refuses is refused here first.
 */
const mysql8Settings = [
  "--character-set-server=utf8mb4",
  "--collation-server=utf8mb4_unicode_ci",
  "--sql-mode=ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
  "--explicit-defaults-for-timestamp=ON",
];

/**
 * Starts the project's MariaDB: initialises its data folder on first use, listens on a unix socket
 * and a free TCP port on 127.0.0.1 (two projects never collide), and resolves once it accepts
 * connections with the application's database and user in place. The folder is locked from the
 * first step to stop(): a second lamp on the same project is refused at once.
 */
export async function startLocalDatabase(options: LocalDatabaseOptions): Promise<LocalDatabase> {
  const binary = options.binary ?? findDatabaseServer(options.env);
  if (options.binary && !isExecutableFile(options.binary)) throw new LampError("dependency", `${options.binary}: no executable file there.`, installHint);
  const paths = localDatabasePaths(path.resolve(options.directory));
  try {
    await mkdir(path.dirname(paths.data), { recursive: true });
  } catch (error) {
    throw new LampError("io", `Cannot create ${path.dirname(paths.data)}: ${errnoCode(error) ?? (error as Error).message}.`, "Check the project folder's permissions.");
  }
  removeStaleRunFolders();
  const lock = await lockDataFolder(path.dirname(paths.data));
  try {
    const started = await startLocked(options, binary, paths);
    let stopped: Promise<void> | undefined;
    return { ...started, stop: () => (stopped ??= started.stop().finally(() => lock.release())) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** With the folder's lock held: what an interrupted start left is tidied, then the server starts. */
async function startLocked(options: LocalDatabaseOptions, binary: string, paths: ReturnType<typeof localDatabasePaths>): Promise<LocalDatabase> {
  removeInterruptedInstalls(path.dirname(paths.data));
  await waitForOrphanedServer(paths, options.clock);
  await initialiseDataDirectory(binary, paths.data, options.env);
  const password = await localPassword(paths.password);
  const certificates = await localCertificates(paths.tls, options.env);

  for (let attempt = 1; ; attempt++) {
    // A folder per attempt: a failed start removes its own (see launch).
    const { runDirectory, socketPath, initFile } = await prepareRunFolder(bootstrapSql(options.database, databaseUsername, password));
    const port = await freePort();
    try {
      const started = await launch({ options, binary, port, socketPath, initFile, pidFile: paths.pid, dataDirectory: paths.data, certificates, runDirectory });
      rmSync(initFile, { force: true });
      // Where PHP connects: the gate that words a connection without TLS as Aurora does.
      const gate = await startTlsGate(port).catch(async (error: unknown) => {
        await started.stop();
        throw error;
      });
      const running: RunningDatabase = { pid: started.pid, port: gate.port, socketPath, version: started.version };
      await writeFile(paths.server, `${JSON.stringify(running)}\n`);
      const address: DatabaseAddress = {
        host: "127.0.0.1",
        port: gate.port,
        database: options.database,
        username: databaseUsername,
        password,
        serverVersion: doctrineServerVersion(started.version),
        caFile: certificates.ca,
      };
      return { address, variables: databaseVariables(address), binary, version: started.version, pid: started.pid, socketPath, dataDirectory: paths.data, stop: () => gate.close().then(started.stop) };
    } catch (error) {
      // Another process took the port between freePort() and the server's bind: try another.
      if (error instanceof PortTakenError && attempt < 3) continue;
      rmSync(runDirectory, { recursive: true, force: true });
      throw error instanceof PortTakenError ? new LampError("io", error.message) : error;
    }
  }
}

/** The run's temp folder (a project path can be too long for a unix socket) with the bootstrap SQL in it. */
async function prepareRunFolder(sql: string): Promise<{ runDirectory: string; socketPath: string; initFile: string }> {
  const runDirectory = mkdtempSync(runFolderPrefix("run"));
  const initFile = path.join(runDirectory, "bootstrap.sql");
  try {
    await writeFile(initFile, sql, { mode: 0o600 });
  } catch (error) {
    rmSync(runDirectory, { recursive: true, force: true });
    throw new LampError("io", `Cannot write to ${runDirectory}: ${(error as Error).message}`);
  }
  return { runDirectory, socketPath: path.join(runDirectory, "mysqld.sock"), initFile };
}

/**
 * A server of this folder still running although no lamp holds the lock: its lamp was killed, and
 * its watchdog asked it to stop. It is given time to finish (a clean InnoDB shutdown), then named.
 */
async function waitForOrphanedServer(paths: ReturnType<typeof localDatabasePaths>, clock: Clock, limitMs = 30_000): Promise<void> {
  const deadline = clock.now() + limitMs;
  for (;;) {
    const other = runningServer(paths.pid, paths.data);
    if (other === undefined) return;
    if (clock.now() > deadline) {
      throw new LampError(
        "exists",
        `A MariaDB server (process ${other}) still runs on ${paths.data}, with no lamp in charge of it.`,
        `Stop it (\`kill ${other}\`), then run again: two servers cannot share one data folder.`,
      );
    }
    await clock.sleep(100);
  }
}

class PortTakenError extends Error {}

interface LaunchOptions {
  options: LocalDatabaseOptions;
  binary: string;
  port: number;
  socketPath: string;
  initFile: string;
  pidFile: string;
  dataDirectory: string;
  certificates: LocalCertificates;
  /** The run's temp folder (socket, bootstrap SQL, temporary tables): removed when the server stops. */
  runDirectory: string;
}

/** mariadbd's command line: this run's socket, port, files and TLS, and MySQL 8's behaviour. */
function serverArguments(launchOptions: LaunchOptions): string[] {
  const { port, socketPath, certificates } = launchOptions;
  const args = [
    // First, or it is ignored: the system's my.cnf (Debian's socket in /run/mysqld, its log files) is not ours.
    "--no-defaults",
    `--datadir=${launchOptions.dataDirectory}`,
    `--socket=${socketPath}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--pid-file=${launchOptions.pidFile}`,
    `--init-file=${launchOptions.initFile}`,
    // Temporary tables in the run's own folder, never shared with another server.
    `--tmpdir=${path.dirname(socketPath)}`,
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=64M",
    ...mysql8Settings,
    // TLS required over TCP, as Aurora with lamp's parameter group (the unix socket counts as secure).
    `--ssl-ca=${certificates.ca}`,
    `--ssl-cert=${certificates.cert}`,
    `--ssl-key=${certificates.key}`,
    "--require-secure-transport=ON",
  ];
  // mariadbd refuses to run as root unless told to; containers and CI often run as root.
  if (process.getuid?.() === 0) args.push("--user=root");
  return args;
}

async function launch(launchOptions: LaunchOptions): Promise<{ pid: number; version: string; stop(): Promise<void> }> {
  const { options, binary } = launchOptions;
  let version: string | undefined;
  let server: Supervised;
  try {
    server = supervise({
      command: [binary, ...serverArguments(launchOptions)],
      env: options.env,
      watchdogName: "lamp-db-watchdog",
      onLine: (line) => {
        const match = /^Version: '([^']+)'/.exec(line);
        if (match) version = match[1];
        options.onLog?.(line);
      },
      tailLines: 30,
      // A clean InnoDB shutdown flushes the buffer pool; give it time before forcing (committed data survives even that).
      graceMs: 60_000,
      folder: launchOptions.runDirectory,
      // After lamp's death the server may take its time to shut down: the next start removes the
      // folder once nothing names it (removeStaleRunFolders).
      watchdogRemovesFolder: false,
      onExit: options.onExit,
      clock: options.clock,
    });
  } catch (error) {
    throw new LampError("dependency", `Cannot run ${binary}: ${(error as Error).message}`, installHint);
  }
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  // The server logs its version once it accepts connections (the bootstrap SQL has run by then).
  const readiness = await server.whenReady(() => version !== undefined, { timeoutMs, pollMs: 20 });
  if (readiness.state !== "ready") throw startFailure(launchOptions, readiness, timeoutMs);
  return { pid: server.pid, version: version!, stop: server.stop };
}

/** Why the server did not start, as the one line the user reads (a port taken meanwhile: start() tries another). */
function startFailure({ binary, port, dataDirectory }: LaunchOptions, readiness: Exclude<Readiness, { state: "ready" }>, timeoutMs: number): Error {
  if (readiness.state === "spawn-failed") return new LampError("dependency", `Cannot run ${binary}: ${readiness.error.message}`, installHint);
  if (readiness.state === "timed-out") {
    return new LampError("failed", `The local database did not accept connections within ${Math.round(timeoutMs / 1000)} s.`, "Run again with --verbose to see the server's log.");
  }
  const recent = readiness.tail;
  if (recent.some((line) => /Address already in use/.test(line))) return new PortTakenError(`Port ${port} on 127.0.0.1 is in use; the local database could not listen on it.`);
  const full = looksLikeDiskFull(recent, dataDirectory);
  if (full !== undefined) return diskFullError(dataDirectory, full);
  const detail = recent.filter((line) => /\[ERROR\]/.test(line)).slice(-3).map((line) => line.replace(/^.*\[ERROR\]\s*/, "")).join(" | ") || recent.slice(-3).join(" | ");
  return new LampError(
    "failed",
    `The local database (${binary}) exited while starting (${readiness.signal ?? `exit code ${readiness.code}`})${detail ? `: ${detail}` : "."}`,
    `Its data is in ${dataDirectory}; run with --verbose to see the server's log.`,
  );
}
