import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mariadbForTests, startTlsOnlyMariadb, type TlsOnlyServer } from "./helpers.js";

const mariadbd = mariadbForTests();
const fixture = path.resolve("test/database/fixtures/session-cli.php");

describe.skipIf(!mariadbd)("the session handler against a TLS-only server, as against Aurora", () => {
  let server: TlsOnlyServer;

  beforeAll(async () => {
    server = await startTlsOnlyMariadb(mariadbd!);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects over TLS where plain connections are refused, and keeps the session", () => {
    const { host, port } = server;
    const visit = () => JSON.parse(execFileSync("php", [fixture, host, String(port), "Secret123", "tls0session0id"]).toString()) as { count: number };
    expect(visit().count).toBe(1);
    expect(visit().count).toBe(2);
    // The same credentials without TLS: the server refuses, as Aurora does with require_secure_transport
    // (MariaDB words it as error 1045, Access denied; with TLS the same command connects).
    const client = (tls: string) => () => execFileSync("mariadb", ["--no-defaults", tls, "-h", host, "-P", String(port), "-u", "lamp", "-pSecret123", "-e", "SELECT 1", "shop"], { stdio: "pipe" });
    expect(client("--skip-ssl")).toThrow(/ERROR 1045/);
    expect(client("--ssl")().toString()).toContain("1");
  });

  it("with MYSQL_ATTR_SSL_CA set, verifies the server with that CA: its own CA passes, RDS's bundle refuses a server RDS did not sign", () => {
    const { host, port } = server;
    const visit = (ca: string) => execFileSync("php", [fixture, host, String(port), "Secret123", "tls0verified0id", ca], { stdio: "pipe" }).toString();
    expect(JSON.parse(visit(server.caFile))).toEqual({ count: 1 });
    expect(() => visit(path.resolve("templates/database/rds-ca-bundle.pem"))).toThrow(/Cannot connect to MySQL using SSL/);
  });
});
