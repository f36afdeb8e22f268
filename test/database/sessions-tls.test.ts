import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mariadbForTests } from "./helpers.js";

const mariadbd = mariadbForTests();
const fixture = path.resolve("test/database/fixtures/session-cli.php");

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A MariaDB that, like Aurora with lamp's parameter group, refuses connections without TLS
 * (require_secure_transport), on a loopback address other than 127.0.0.1 so the handler takes it
 * for the remote host it is in Lambda.
 */
describe.skipIf(!mariadbd)("the session handler against a TLS-only server, as against Aurora", () => {
  const host = "127.0.0.2";
  let scratch: string;
  let server: ChildProcess;
  let port: number;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${scratch}/key.pem`, "-out", `${scratch}/cert.pem`, "-days", "2", "-subj", "/CN=aurora.test"], { stdio: "ignore" });
    const user = process.getuid?.() === 0 ? ["--user=root"] : [];
    execFileSync("mariadb-install-db", ["--no-defaults", `--datadir=${scratch}/data`, "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve", ...user], {
      stdio: "ignore",
      env: { ...process.env, TMPDIR: scratch },
    });
    writeFileSync(`${scratch}/init.sql`, "CREATE DATABASE shop;\nCREATE USER 'lamp'@'%' IDENTIFIED BY 'Secret123';\nGRANT ALL ON shop.* TO 'lamp'@'%';\n");
    port = await freePort(host);
    server = spawn(
      mariadbd!,
      [
        "--no-defaults", `--datadir=${scratch}/data`, `--socket=${scratch}/s.sock`, `--port=${port}`, `--bind-address=${host}`, `--tmpdir=${scratch}`,
        `--init-file=${scratch}/init.sql`, "--skip-name-resolve", `--ssl-cert=${scratch}/cert.pem`, `--ssl-key=${scratch}/key.pem`, "--require-secure-transport=ON", ...user,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let log = "";
      server.stderr!.setEncoding("utf8").on("data", (text: string) => {
        log += text;
        if (log.includes("ready for connections")) resolve();
      });
      server.once("exit", () => reject(new Error(`mariadbd exited:\n${log}`)));
    });
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it("connects over TLS where plain connections are refused, and keeps the session", () => {
    const visit = () => JSON.parse(execFileSync("php", [fixture, host, String(port), "Secret123", "tls0session0id"]).toString()) as { count: number };
    expect(visit().count).toBe(1);
    expect(visit().count).toBe(2);
    // The same credentials without TLS: the server refuses, as Aurora does with require_secure_transport.
    const plain = () => execFileSync("mariadb", ["--no-defaults", "--skip-ssl", "-h", host, "-P", String(port), "-u", "lamp", "-pSecret123", "-e", "SELECT 1", "shop"], { stdio: "pipe" });
    expect(plain).toThrow(/secure transport|SSL/i);
  });
});
