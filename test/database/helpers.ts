import { execFileSync } from "node:child_process";
import { findDatabaseServer } from "../../src/database/local-server.js";

/**
 * The MariaDB server the database tests use. Missing locally: the suite is skipped with a loud
 * warning. Missing in CI: the suite fails, because CI must run it.
 */
export function mariadbForTests(): string | undefined {
  try {
    return findDatabaseServer(process.env);
  } catch (error) {
    if (process.env.CI) throw new Error(`mariadbd is required in CI for test/database: ${(error as Error).message}`);
    console.warn(`\n⚠⚠⚠ SKIPPING database integration tests: ${(error as Error).message} Install Debian's mariadb-server. ⚠⚠⚠\n`);
    return undefined;
  }
}

/** Every running mariadbd/mysqld whose command line names this data folder. */
export function serversOf(dataDirectory: string): number[] {
  try {
    // The exact folder: not a `data.partial-…` one being installed beside it.
    const pattern = `--datadir=${dataDirectory.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}( |$)`;
    return execFileSync("pgrep", ["-f", "--", pattern]).toString().trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Waits (polling, no fixed margin) until no server of the data folder runs; returns what is left after `limitMs`. */
export async function serversGone(dataDirectory: string, limitMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const left = serversOf(dataDirectory);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs SQL with the mariadb client over TCP as the application's user; returns the tab-separated rows. */
export function query(variables: Record<string, string>, sql: string): string {
  return execFileSync(
    "mariadb",
    ["--no-defaults", "--default-character-set=utf8mb4", "-h", variables.DB_HOST!, "-P", variables.DB_PORT!, "-u", variables.DB_USERNAME!, variables.DB_DATABASE!, "--batch", "--skip-column-names", "-e", sql],
    { env: { ...process.env, MYSQL_PWD: variables.DB_PASSWORD } },
  ).toString();
}
