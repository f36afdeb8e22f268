import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { bundledCaBundle, caBundleFile, ensureCaBundle } from "../../src/database/ca-bundle.js";
import { FastCgiClient } from "../../src/dev/fastcgi/client.js";
import { startPhpFpm } from "../../src/dev/php-fpm.js";
import { phpFpmForTests } from "../dev/helpers.js";
import { mariadbForTests, startTlsOnlyMariadb, type TlsOnlyServer } from "./helpers.js";

const fixture = path.resolve("test/database/fixtures/laravel-connect.php");

function certificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

describe("the Amazon RDS CA bundle lamp ships", () => {
  it("holds only Amazon RDS root CAs, each self-signed and valid for decades", async () => {
    const pem = (await bundledCaBundle()).toString("utf8");
    const roots = certificates(pem);
    expect(roots.length).toBeGreaterThanOrEqual(100);
    // Nothing but certificates in the file.
    expect(pem.replace(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g, "").trim()).toBe("");
    for (const root of roots) {
      expect(root.subject).toMatch(/^CN=Amazon RDS [\w -]*Root CA (RSA2048|RSA4096|ECC384) G1$/m);
      expect(root.subject).toMatch(/^O=Amazon Web Services\\?, Inc\.$/m);
      expect(root.issuer).toBe(root.subject);
      expect(root.verify(root.publicKey)).toBe(true);
      expect(root.ca).toBe(true);
      expect(new Date(root.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2061);
    }
  });

  it("is added to a project that gained its database after init, and never replaces the project's own file", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "lamp-ca-"));
    try {
      expect(await ensureCaBundle(root)).toBe(true);
      expect(readFileSync(path.join(root, caBundleFile))).toEqual(await bundledCaBundle());
      expect(await ensureCaBundle(root)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

const phpFpm = phpFpmForTests();
const mariadbd = mariadbForTests();

/**
 * A PHP page under real php-fpm that connects as Laravel's default config does, with nothing but the
 * function's variables, to a server that requires TLS as Aurora does.
 */
describe.skipIf(!phpFpm || !mariadbd)("PDO with DB_* and MYSQL_ATTR_SSL_CA against a TLS-only server", () => {
  let server: TlsOnlyServer;
  beforeAll(async () => {
    server = await startTlsOnlyMariadb(mariadbd!);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function page(extra: Record<string, string>, script = fixture): Promise<{ connected: boolean; cipher?: string; error?: string }> {
    const env = { PATH: process.env.PATH, DB_HOST: server.host, DB_PORT: String(server.port), DB_DATABASE: "shop", DB_USERNAME: "lamp", DB_PASSWORD: "Secret123", ...extra };
    const fpm = await startPhpFpm({ binary: phpFpm!, workers: 1, cwd: path.dirname(fixture), env, clock: systemClock, onLog: () => {}, onExit: () => {} });
    const client = new FastCgiClient({ socketPaths: fpm.socketPaths });
    try {
      const response = await client.request({ params: [["SCRIPT_FILENAME", script], ["REQUEST_METHOD", "GET"]], body: Buffer.alloc(0) });
      return JSON.parse(response.stdout.toString().split("\r\n\r\n")[1]!);
    } finally {
      client.close();
      await fpm.stop();
    }
  }

  it("connects over TLS when MYSQL_ATTR_SSL_CA names the CA that signed the server's certificate", async () => {
    const result = await page({ MYSQL_ATTR_SSL_CA: server.caFile });
    expect(result.error).toBeUndefined();
    expect(result.connected).toBe(true);
    expect(result.cipher).toMatch(/\w/);
  });

  it("is refused without MYSQL_ATTR_SSL_CA: the failure lamp's variable prevents in Lambda", async () => {
    const result = await page({});
    expect(result.connected).toBe(false);
    // MariaDB words a plain connection under require_secure_transport as a failed login (Aurora, as
    // MySQL, says "insecure transport"); the same credentials connect over TLS in the test above.
    expect(result.error).toMatch(/insecure transport|\[1045\] Access denied/i);
  });

  it("verifies the certificate: the RDS bundle does not vouch for a server RDS did not sign", async () => {
    const result = await page({ MYSQL_ATTR_SSL_CA: path.resolve("templates/database/rds-ca-bundle.pem") });
    expect(result.connected).toBe(false);
    // mysqlnd's words for a certificate that does not verify.
    expect(result.error).toContain("[2002] Cannot connect to MySQL using SSL");
  });

  it("WordPress's MYSQL_CLIENT_FLAGS = MYSQLI_CLIENT_SSL encrypts but does not verify: mysqlnd checks no certificate without a CA", async () => {
    const wordpress = path.resolve("test/database/fixtures/wordpress-connect.php");
    // The server's CA is in no store PHP reads, and yet the connection is made: encrypted, unverified.
    const result = await page({ MYSQL_ATTR_SSL_CA: path.resolve("templates/database/rds-ca-bundle.pem") }, wordpress);
    expect(result.error).toBeUndefined();
    expect(result.cipher).toMatch(/\w/);
    // Without the flag (no MYSQL_ATTR_SSL_CA, as under lamp dev) the TLS-only server refuses it.
    expect((await page({}, wordpress)).connected).toBe(false);
  });
});
