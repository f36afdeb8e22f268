import path from "node:path";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { readFile } from "node:fs/promises";
import { localDatabasePaths, runningLocalDatabase, startLocalDatabase, type LocalDatabase } from "./local-server.js";
import { databaseUsername, databaseVariables, doctrineServerVersion, type DatabaseVariables } from "./variables.js";

/** The project's local database folder: under `.lamp/`, which new projects git-ignore and deploy never packages. */
export function localDatabaseDirectory(project: Project): string {
  return path.join(project.root, ".lamp", "mariadb");
}

export interface DevDatabaseHooks {
  /** The server's log lines (shown with --verbose). */
  debug(line: string): void;
  /** The server died while lamp dev was running. */
  died(reason: string): void;
}

/**
 * lamp dev's database, when lamp.json has a `database` section: a local MariaDB with the project's
 * data, started before php-fpm so PHP gets its variables. Undefined for projects without one.
 */
export async function startDevDatabase(project: Project, ctx: Context, hooks: DevDatabaseHooks): Promise<LocalDatabase | undefined> {
  const settings = project.config.database;
  if (!settings) return undefined;
  const progress = ctx.ui.progress("Starting the local database");
  try {
    const database = await startLocalDatabase({
      directory: localDatabaseDirectory(project),
      database: settings.name,
      env: ctx.env,
      clock: ctx.clock,
      onLog: (line) => hooks.debug(`mariadbd: ${line}`),
      onExit: (code, signal) => hooks.died(`The local database exited unexpectedly (${signal ?? `exit code ${code}`}).`),
    });
    progress.done(`Local database ${database.address.database} on 127.0.0.1:${database.address.port} (${database.version})`);
    return database;
  } catch (error) {
    progress.fail("The local database did not start");
    throw error;
  }
}

/**
 * The local database for one command (`lamp run`, a schedule under `lamp dev`): the one `lamp dev`
 * is running, or one started for the command and stopped after it, as `lamp db` does. Undefined
 * for projects without a database.
 */
export async function databaseForCommand(project: Project, ctx: Context): Promise<{ variables: DatabaseVariables; stop(): Promise<void> } | undefined> {
  const settings = project.config.database;
  if (!settings) return undefined;
  const directory = localDatabaseDirectory(project);
  const running = runningLocalDatabase(directory);
  if (running) {
    const paths = localDatabasePaths(directory);
    const password = (await readFile(paths.password, "utf8")).trim();
    ctx.ui.debug(`Using the database lamp dev runs (process ${running.pid}).`);
    const address = { host: "127.0.0.1", port: running.port, database: settings.name, username: databaseUsername, password, serverVersion: doctrineServerVersion(running.version), caFile: path.join(paths.tls, "ca.pem") };
    return { variables: databaseVariables(address), stop: async () => {} };
  }
  const database = await startDevDatabase(project, ctx, { debug: (line) => ctx.ui.debug(line), died: (reason) => ctx.ui.warn(reason) });
  return database && { variables: database.variables, stop: () => database.stop() };
}
