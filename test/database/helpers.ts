import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { findDatabaseServer } from "../../src/database/local-server.js";

const execFileAsync = promisify(execFile);

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

/**
 * Runs SQL with the mariadb client over TCP (TLS: the server requires it) as the application's user; returns the tab-separated rows.
 * Asynchronous: the local server's front door (its TLS gate) runs in the process that started it, often the test's own.
 */
export async function query(variables: Record<string, string>, sql: string): Promise<string> {
  const { stdout } = await execFileAsync(
    "mariadb",
    ["--no-defaults", "--ssl", "--default-character-set=utf8mb4", "-h", variables.DB_HOST!, "-P", variables.DB_PORT!, "-u", variables.DB_USERNAME!, variables.DB_DATABASE!, "--batch", "--skip-column-names", "-e", sql],
    { env: { ...process.env, MYSQL_PWD: variables.DB_PASSWORD } },
  );
  return stdout;
}

/** A program's stdout, without blocking this process (see query). */
export async function run(program: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await execFileAsync(program, args, { env })).stdout;
}

export interface TlsOnlyServer {
  host: string;
  port: number;
  /** The CA that signed the server's certificate (its PEM file). */
  caFile: string;
  stop(): Promise<void>;
}

/**
 * A MariaDB that, like Aurora with lamp's parameter group, refuses connections without TLS
 * (require_secure_transport), on 127.0.0.2 so PHP takes it for a remote host. Its certificate is
 * signed by a CA of its own, for the host's address: a client that verifies it with that CA passes,
 * one that verifies it with any other CA fails. Database `shop`, user `lamp`, password `Secret123`.
 */
export async function startTlsOnlyMariadb(mariadbd: string): Promise<TlsOnlyServer> {
  const host = "127.0.0.2";
  const scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-tls-"));
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${scratch}/ca-key.pem`, "-out", `${scratch}/ca.pem`, "-days", "2", "-subj", "/CN=Test Aurora CA"]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${scratch}/key.pem`, "-out", `${scratch}/server.csr`, "-subj", `/CN=${host}`]);
  writeFileSync(`${scratch}/san.ext`, `subjectAltName = IP:${host}\n`);
  openssl(["x509", "-req", "-in", `${scratch}/server.csr`, "-CA", `${scratch}/ca.pem`, "-CAkey", `${scratch}/ca-key.pem`, "-CAcreateserial", "-out", `${scratch}/cert.pem`, "-days", "2", "-extfile", `${scratch}/san.ext`]);
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];
  execFileSync("mariadb-install-db", ["--no-defaults", `--datadir=${scratch}/data`, "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve", ...user], {
    stdio: "ignore",
    env: { ...process.env, TMPDIR: scratch },
  });
  writeFileSync(`${scratch}/init.sql`, "CREATE DATABASE shop;\nCREATE USER 'lamp'@'%' IDENTIFIED BY 'Secret123';\nGRANT ALL ON shop.* TO 'lamp'@'%';\n");
  const port = await freePort(host);
  const server = spawn(
    mariadbd,
    [
      "--no-defaults", `--datadir=${scratch}/data`, `--socket=${scratch}/s.sock`, `--port=${port}`, `--bind-address=${host}`, `--tmpdir=${scratch}`,
      `--init-file=${scratch}/init.sql`, "--skip-name-resolve", `--ssl-ca=${scratch}/ca.pem`, `--ssl-cert=${scratch}/cert.pem`, `--ssl-key=${scratch}/key.pem`,
      "--require-secure-transport=ON", ...user,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let log = "";
      server.stderr!.setEncoding("utf8").on("data", (text: string) => {
        log += text;
        if (log.includes("ready for connections")) resolve();
      });
      server.once("exit", () => reject(new Error(`mariadbd exited:\n${log}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, port, caFile: `${scratch}/ca.pem`, stop };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
