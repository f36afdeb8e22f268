/**
 * The variables PHP connects with, in Lambda and under `lamp dev`: Laravel's DB_* names and
 * Doctrine/Symfony's DATABASE_URL, so the common frameworks need no code to find the database.
 */
export const databaseVariableNames = ["DB_HOST", "DB_PORT", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "DATABASE_URL"] as const;
export type DatabaseVariables = Record<(typeof databaseVariableNames)[number], string> & { MYSQL_ATTR_SSL_CA?: string };

/** The account the application connects as, locally and in AWS. */
export const databaseUsername = "lamp";

export interface DatabaseAddress {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  /** What Doctrine's `serverVersion` wants: `8.0.39` for MySQL, `10.11.19-MariaDB` for MariaDB. */
  serverVersion: string;
  /** The CA that signed the server's certificate, when the server requires TLS (MYSQL_ATTR_SSL_CA). */
  caFile?: string;
}

function databaseUrl(address: DatabaseAddress): string {
  const credentials = `${encodeURIComponent(address.username)}:${encodeURIComponent(address.password)}`;
  return `mysql://${credentials}@${address.host}:${address.port}/${encodeURIComponent(address.database)}?serverVersion=${encodeURIComponent(address.serverVersion)}&charset=utf8mb4`;
}

export function databaseVariables(address: DatabaseAddress): DatabaseVariables {
  return {
    DB_HOST: address.host,
    DB_PORT: String(address.port),
    DB_DATABASE: address.database,
    DB_USERNAME: address.username,
    DB_PASSWORD: address.password,
    DATABASE_URL: databaseUrl(address),
    ...(address.caFile ? { MYSQL_ATTR_SSL_CA: address.caFile } : {}),
  };
}

/**
 * Doctrine's form of a server's `VERSION()`: `10.11.19-MariaDB-0+deb12u1` -> `10.11.19-MariaDB`
 * (Doctrine tells MariaDB from MySQL by that suffix), `8.0.39-log` -> `8.0.39`.
 */
export function doctrineServerVersion(version: string): string {
  const numbers = /^(?:5\.5\.5-)?(\d+\.\d+\.\d+)/.exec(version)?.[1] ?? version;
  return /mariadb/i.test(version) ? `${numbers}-MariaDB` : numbers;
}
