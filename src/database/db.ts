import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { CancelledError, LampError, errnoCode } from "../core/errors.js";
import { describeStack } from "../project/stack-outputs.js";
import { findClientTool, finished, importSafetyFlags, queryValue, spawnClientTool, type ClientConnection } from "./client.js";
import { localDatabaseDirectory } from "./dev.js";
import { localDatabasePaths, runningLocalDatabase, startLocalDatabase } from "./local-server.js";
import { deployedDatabase } from "./remote.js";
import { databaseUsername } from "./variables.js";

export interface DbTarget {
  project: Project;
  /** The deployed Aurora database instead of the local one. */
  remote: boolean;
}

function databaseSettings(project: Project) {
  const settings = project.config.database;
  if (!settings) {
    throw new LampError("config", "This project has no database (no `database` section in lamp.json).", 'Add "database": {} to lamp.json, or create projects with `lamp init --database`.');
  }
  return settings;
}

/**
 * Runs `work` against the project's local database: the one `lamp dev` is running, or one started
 * for the job and stopped after it.
 */
async function withLocalConnection<T>(project: Project, ctx: Context, work: (connection: ClientConnection) => Promise<T>): Promise<T> {
  const settings = databaseSettings(project);
  const directory = localDatabaseDirectory(project);
  const running = runningLocalDatabase(directory);
  if (running) {
    const password = (await readFile(localDatabasePaths(directory).password, "utf8")).trim();
    ctx.ui.debug(`Using the database lamp dev runs (process ${running.pid}).`);
    return work({ host: "127.0.0.1", port: running.port, socketPath: running.socketPath, database: settings.name, username: databaseUsername, password, tls: false });
  }
  const starting = ctx.ui.progress("Starting the local database");
  const server = await startLocalDatabase({ directory, database: settings.name, env: ctx.env, clock: ctx.clock, onLog: (line) => ctx.ui.debug(`mariadbd: ${line}`) }).catch((error: unknown) => {
    starting.fail("The local database did not start");
    throw error;
  });
  starting.done(`Local database ${settings.name} started (${server.version})`);
  try {
    return await work({ ...server.address, socketPath: server.socketPath, tls: false });
  } finally {
    await server.stop();
  }
}

/** The deployed database: its endpoint from the stack, its credentials from Secrets Manager (never printed). */
async function remoteConnection(project: Project, ctx: Context): Promise<ClientConnection> {
  const settings = databaseSettings(project);
  const { config } = project;
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = await describeStack(ctx, config.stackName, region);
  const database = stack ? deployedDatabase(stack) : undefined;
  if (!database?.endpoint || !database.secretArn) {
    throw new LampError("not-found", `${config.stackName} in ${region} has no deployed database yet.`, "Run `lamp deploy` first (with lamp.json's database section).");
  }
  if (database.network === "private") {
    throw new LampError(
      "config",
      `The deployed database is in private subnets (lamp.json database.network "private"): nothing outside its VPC can reach it, lamp db --remote included.`,
      'Use network "public" to reach it over TLS, or run the client from inside the VPC.',
    );
  }
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const secrets = ctx.aws.client(SecretsManagerClient, { region });
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: database.secretArn }), { abortSignal: ctx.signal });
  let credentials: { username?: string; password?: string };
  try {
    credentials = JSON.parse(SecretString ?? "") as typeof credentials;
  } catch {
    credentials = {};
  }
  if (!credentials.username || !credentials.password) {
    throw new LampError("aws", `The database's secret (${database.secretArn}) holds no username and password.`, "Check the secret in Secrets Manager; lamp deploy created it with both.");
  }
  return {
    host: database.endpoint,
    port: Number(database.port ?? 3306),
    database: database.name ?? settings.name,
    username: credentials.username,
    password: credentials.password,
    tls: true,
  };
}

async function withConnection<T>(target: DbTarget, ctx: Context, work: (connection: ClientConnection) => Promise<T>): Promise<T> {
  if (!target.remote) return withLocalConnection(target.project, ctx, work);
  const connection = await remoteConnection(target.project, ctx);
  ctx.ui.note(ctx.ui.colors.dim(`The deployed database ${connection.database} on ${connection.host} (a paused cluster takes ~15 s to resume).`));
  return work(connection);
}

function where(target: DbTarget, connection: ClientConnection): string {
  return target.remote ? `the deployed database ${connection.database}` : `the local database ${connection.database}`;
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** Counts what passes, and reports it at most every half second. */
function progressCounter(ctx: Context, report: (bytes: number) => void): { stream: Transform; bytes(): number } {
  let bytes = 0;
  let last = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      const now = ctx.clock.now();
      if (now - last >= 500) {
        last = now;
        report(bytes);
      }
      callback(null, chunk);
    },
  });
  return { stream, bytes: () => bytes };
}

/** Waits for the data to flow and the tool to end; the tool's own error explains a broken pipe better. */
async function bothDone(piped: Promise<void>, ended: Promise<void>): Promise<void> {
  const [flow, tool] = await Promise.allSettled([piped, ended]);
  if (tool.status === "rejected") throw tool.reason;
  if (flow.status === "rejected") throw flow.reason;
}

/** `lamp db shell`: the MariaDB/MySQL client on the database, at the user's terminal. */
export async function shell(target: DbTarget, ctx: Context): Promise<void> {
  const client = findClientTool("client", ctx.env);
  await withConnection(target, ctx, async (connection) => {
    ctx.ui.note(ctx.ui.colors.dim(`${path.basename(client)} on ${where(target, connection)}; \\q or Ctrl-D to leave.`));
    const child = spawnClientTool(client, connection, [connection.database], { env: ctx.env, stdio: ["inherit", "inherit", "inherit"] });
    await finished(child, client, () => "");
  });
}

export interface ExportResult {
  file: string;
  bytes: number;
  database: string;
  remote: boolean;
}

/** `lamp db export [file]`: a SQL dump, written to a temporary name and renamed when complete. */
export async function exportDatabase(options: DbTarget & { file?: string }, ctx: Context): Promise<ExportResult> {
  const settings = databaseSettings(options.project);
  const dump = findClientTool("dump", ctx.env);
  const stamp = new Date(ctx.clock.now()).toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const file = path.resolve(ctx.cwd, options.file ?? `${settings.name}-${options.remote ? "remote" : "local"}-${stamp}.sql`);
  const partial = `${file}.partial`;
  return withConnection(options, ctx, async (connection) => {
      const progress = ctx.ui.progress(`Exporting ${where(options, connection)}`);
      const args = ["--single-transaction", "--triggers", "--no-tablespaces", "--hex-blob", connection.database];
      const child = spawnClientTool(dump, connection, args, { env: ctx.env, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
      const counter = progressCounter(ctx, (bytes) => progress.update(`Exporting ${where(options, connection)}: ${formatMegabytes(bytes)}`));
      const onAbort = () => child.kill("SIGTERM");
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        await bothDone(pipeline(child.stdout!, counter.stream, createWriteStream(partial, { mode: 0o600 })), finished(child, dump, () => stderr));
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        progress.fail(`Export of ${where(options, connection)} failed; nothing was written`);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw error;
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
      }
      const relative = path.relative(ctx.cwd, file) || file;
      progress.done(`Exported ${where(options, connection)} to ${relative} (${formatMegabytes(counter.bytes())})`);
      return { file, bytes: counter.bytes(), database: connection.database, remote: options.remote };
  });
}

export interface ImportResult {
  file: string;
  bytes: number;
  database: string;
  remote: boolean;
}

/** A dump's size, or one line saying why it cannot be read. */
async function dumpSize(given: string, file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new LampError("usage", `${given} is not a file.`, "Pass the path of a .sql dump, e.g. one made by `lamp db export`.");
    return info.size;
  } catch (error) {
    if (error instanceof LampError) throw error;
    if (errnoCode(error) === "ENOENT") throw new LampError("usage", `${given}: no such file.`, "Pass the path of a .sql dump, e.g. one made by `lamp db export`.");
    throw new LampError("io", `Cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Where an import stopped, and why: what the user needs to know to recover. */
export interface StoppedImport {
  /** The dump as the user named it. */
  given: string;
  /** "the local database shop" / "the deployed database shop". */
  target: string;
  /** Bytes handed to the client before it stopped (it runs statements as they arrive). */
  bytes: number;
  size: number;
  /** The client's own words, e.g. "ERROR 1064 (42000) at line 3: …". */
  clientError?: string;
  interrupted?: LampError;
}

/**
 * The one line (and hint) for an import that did not finish: the database holds what ran before the
 * stop — a partial import — and running the whole dump again is how to recover (a dump by `lamp db
 * export` or mysqldump drops and recreates each table it holds, so it starts over cleanly).
 */
function stoppedImportError(stopped: StoppedImport): LampError {
  const line = /at line (\d+)/.exec(stopped.clientError ?? "")?.[1];
  const at = line ? `at line ${line} of ${stopped.given}` : `after ${formatMegabytes(stopped.bytes)} of ${formatMegabytes(stopped.size)}`;
  const state = `${stopped.target} is partially imported: the statements before that point ran, the rest did not.`;
  const again = `Run \`lamp db import ${stopped.given} --yes\` again to import the whole dump`;
  if (stopped.interrupted) {
    return new LampError("cancelled", `${stopped.interrupted.message.replace(/\.$/, "")} ${at}: ${state}`, `${again} (it recreates each table it holds), or import the export you made before.`);
  }
  if (/sandbox/i.test(stopped.clientError ?? "")) {
    return new LampError(
      "failed",
      `${stopped.given} has a client command that runs a shell or touches files (\\!, system, tee, source) ${line ? `at line ${line}` : ""}; lamp db import runs SQL only, and stopped there: ${state}`.replace(" ;", ";"),
      `Remove that command from the dump (a dump by lamp db export or mysqldump has none), then ${again.charAt(0).toLowerCase()}${again.slice(1)}.`,
    );
  }
  const detail = stopped.clientError ? ` (${stopped.clientError})` : "";
  return new LampError("failed", `The import stopped ${at}${detail}: ${state}`, `Fix the dump, then ${again.charAt(0).toLowerCase()}${again.slice(1)}.`);
}

/** Asks before writing into a database that has tables (a prompt at a terminal, or --yes): the dump may drop them. */
async function confirmOverwrite(client: string, connection: ClientConnection, given: string, target: string, ctx: Context): Promise<void> {
  const sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()";
  const tables = Number(await queryValue(client, connection, sql, ctx.env));
  if (tables === 0 || ctx.yes) return;
  const message = `${target} has ${tables} table${tables === 1 ? "" : "s"}; importing ${path.basename(given)} may replace their data. Import anyway?`;
  const go = await ctx.prompt.confirm({ message: message.charAt(0).toUpperCase() + message.slice(1), flag: "--yes", initialValue: false });
  if (!go) throw new CancelledError(`Nothing imported: ${target} is unchanged.`);
}

/**
 * `lamp db import <file>`: runs a SQL dump into the database, as SQL only: the client's sandbox
 * refuses the shell and file commands a dump could hold (`\\! cmd`, `system`, `tee`, `source`), and
 * LOAD DATA LOCAL cannot read the user's files. A stop part-way says what state the database is in.
 */
export async function importDatabase(options: DbTarget & { file: string }, ctx: Context): Promise<ImportResult> {
  databaseSettings(options.project);
  const client = findClientTool("client", ctx.env);
  const safety = await importSafetyFlags(client, ctx.env);
  const file = path.resolve(ctx.cwd, options.file);
  const size = await dumpSize(options.file, file);
  return withConnection(options, ctx, async (connection) => {
    const target = where(options, connection);
    await confirmOverwrite(client, connection, file, target, ctx);
    const name = path.basename(file);
    const progress = ctx.ui.progress(`Importing ${name} into ${target}`);
    const child = spawnClientTool(client, connection, [...safety, "--batch", connection.database], { env: ctx.env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const counter = progressCounter(ctx, (bytes) =>
      progress.update(`Importing ${name}: ${formatMegabytes(bytes)} of ${formatMegabytes(size)} (${Math.floor((bytes / Math.max(size, 1)) * 100)}%)`),
    );
    const onAbort = () => child.kill("SIGTERM");
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      await bothDone(pipeline(createReadStream(file), counter.stream, child.stdin!), finished(child, client, () => stderr));
    } catch (error) {
      progress.fail(`Import into ${target} stopped`);
      const interrupted = ctx.signal.aborted && ctx.signal.reason instanceof LampError ? ctx.signal.reason : undefined;
      if (!interrupted && !(error instanceof LampError && error.code === "failed")) throw error;
      const clientError = stderr.trim().split("\n").filter(Boolean).slice(-1)[0];
      throw stoppedImportError({ given: options.file, target, bytes: counter.bytes(), size, clientError, interrupted });
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
    }
    progress.done(`Imported ${name} into ${target} (${formatMegabytes(size)})`);
    return { file, bytes: size, database: connection.database, remote: options.remote };
  });
}
