import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { bootstrapSql, findDatabaseServer, localDatabasePaths, startLocalDatabase, type LocalDatabase } from "../../src/database/local-server.js";
import { doctrineServerVersion } from "../../src/database/variables.js";
import { mariadbForTests, query, run, serversGone, serversOf } from "./helpers.js";

const mariadbd = mariadbForTests();

describe("finding the server", () => {
  it("names Debian's and Homebrew's package when there is none", () => {
    expect(() => findDatabaseServer({ PATH: "/nonexistent" }, [])).toThrow(expect.objectContaining({
      code: "dependency",
      message: expect.stringContaining("mariadbd (or mysqld) was not found"),
      hint: expect.stringMatching(/apt-get install mariadb-server.*brew install mariadb/),
    }));
  });
});

describe("the bootstrap SQL", () => {
  it("quotes names and passwords, so neither can end the statement", () => {
    const sql = bootstrapSql("shop", "lamp", "it's\\");
    expect(sql).toContain("CREATE DATABASE IF NOT EXISTS `shop` CHARACTER SET utf8mb4");
    expect(sql).toContain("IDENTIFIED BY 'it\\'s\\\\';");
    expect(sql).toContain("GRANT ALL PRIVILEGES ON `shop`.* TO 'lamp'@'%';");
  });

  it("Doctrine's serverVersion keeps MariaDB's suffix and drops distribution tags", () => {
    expect(doctrineServerVersion("10.11.19-MariaDB-0+deb12u1")).toBe("10.11.19-MariaDB");
    expect(doctrineServerVersion("5.5.5-10.6.4-MariaDB-log")).toBe("10.6.4-MariaDB");
    expect(doctrineServerVersion("8.0.39")).toBe("8.0.39");
  });
});

describe.skipIf(!mariadbd)("a project's local MariaDB", () => {
  let scratch: string;
  let directory: string;
  let database: LocalDatabase;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-test-"));
    directory = path.join(scratch, ".lamp", "mariadb");
    database = await startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock });
  });
  afterAll(async () => {
    await database?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 with the application's database and user, over TCP and its socket", async () => {
    const { variables } = database;
    expect(variables.DB_HOST).toBe("127.0.0.1");
    expect(Number(variables.DB_PORT)).toBeGreaterThan(0);
    expect(variables).toMatchObject({ DB_DATABASE: "shop", DB_USERNAME: "lamp" });
    expect(variables.DB_PASSWORD).toMatch(/^[\w-]{20,}$/);
    expect(variables.DATABASE_URL).toBe(
      `mysql://lamp:${variables.DB_PASSWORD}@127.0.0.1:${variables.DB_PORT}/shop?serverVersion=${encodeURIComponent(doctrineServerVersion(database.version))}&charset=utf8mb4`,
    );
    expect(await query(variables, "SELECT DATABASE(), CURRENT_USER()")).toBe("shop\tlamp@%\n");
    const viaSocket = execFileSync("mariadb", ["--no-defaults", `--socket=${database.socketPath}`, "-u", "lamp", "--batch", "--skip-column-names", "-e", "SELECT CURRENT_USER()"], {
      env: { ...process.env, MYSQL_PWD: variables.DB_PASSWORD },
    }).toString();
    expect(viaSocket).toBe("lamp@localhost\n");
  });

  it("requires TLS over TCP as Aurora does, with a CA of the project's own that PHP gets as MYSQL_ATTR_SSL_CA", async () => {
    const { variables } = database;
    expect(variables.MYSQL_ATTR_SSL_CA).toBe(path.join(directory, "tls", "ca.pem"));
    expect(statSync(path.join(directory, "tls", "server-key.pem")).mode & 0o077).toBe(0);
    // Plain TCP is refused in Aurora's words (MariaDB 10.11 alone would say "Access denied … (using password: YES)"); the same client over TLS connects.
    const client = (tls: string[]) =>
      run("mariadb", ["--no-defaults", ...tls, "-h", "127.0.0.1", "-P", variables.DB_PORT, "-u", "lamp", "--batch", "--skip-column-names", "-e", "SELECT 1", "shop"], { ...process.env, MYSQL_PWD: variables.DB_PASSWORD });
    await expect(client(["--skip-ssl"])).rejects.toThrow(/ERROR 3159 \(HY000\): Connections using insecure transport are prohibited while --require_secure_transport=ON\./);
    // Verified with the CA, for the address PHP uses.
    expect(await client(["--ssl", `--ssl-ca=${variables.MYSQL_ATTR_SSL_CA}`, "--ssl-verify-server-cert"])).toBe("1\n");
    // PDO as Laravel's default config uses it: verified TLS with the CA; without it, refused.
    const php = (code: string) => run("php", ["-r", code], { ...process.env, PW: variables.DB_PASSWORD });
    const pdo = (options: string) =>
      php(`try { $p = new PDO("mysql:host=127.0.0.1;port=${variables.DB_PORT};dbname=shop", "lamp", getenv("PW"), ${options}); echo $p->query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")->fetch()[1] ? "tls" : "plain"; } catch (Throwable $e) { echo "refused: ", $e->getMessage(); }`);
    expect(await pdo(`[PDO::MYSQL_ATTR_SSL_CA => "${variables.MYSQL_ATTR_SSL_CA}"]`)).toBe("tls");
    expect(await pdo("[]")).toBe("refused: SQLSTATE[HY000] [3159] Connections using insecure transport are prohibited while --require_secure_transport=ON.");
    // mysqli as WordPress connects without MYSQL_CLIENT_SSL: the same words.
    const mysqli = await php(`mysqli_report(MYSQLI_REPORT_OFF); $l = mysqli_init(); @mysqli_real_connect($l, "127.0.0.1", "lamp", getenv("PW"), "shop", ${variables.DB_PORT}); echo mysqli_connect_errno(), " ", mysqli_connect_error();`);
    expect(mysqli).toBe("3159 Connections using insecure transport are prohibited while --require_secure_transport=ON.");
  });

  it("behaves as MySQL 8 does for an app: utf8mb4 and MySQL 8's strict SQL mode", async () => {
    const [charset, mode] = (await query(database.variables, "SELECT @@character_set_server, @@sql_mode")).trim().split("\t");
    expect(charset).toBe("utf8mb4");
    expect(mode).toContain("ONLY_FULL_GROUP_BY");
    expect(mode).toContain("STRICT_TRANS_TABLES");
  });

  it("keeps the password beside the data, readable by its owner only, and never in the server's command line", () => {
    const file = localDatabasePaths(directory).password;
    expect(readFileSync(file, "utf8").trim()).toBe(database.variables.DB_PASSWORD);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(readFileSync(`/proc/${database.pid}/cmdline`, "utf8")).not.toContain(database.variables.DB_PASSWORD);
  });

  it("refuses a second server on the same data at once, naming the lamp that holds it", async () => {
    const started = Date.now();
    await expect(startLocalDatabase({ directory, database: "shop", env: process.env, clock: systemClock })).rejects.toMatchObject({
      code: "exists",
      message: expect.stringContaining(`This project's local database is in use by another lamp (process ${process.pid})`),
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(serversOf(localDatabasePaths(directory).data)).toEqual([database.pid]);
  });

  it("a second project runs beside it on its own port and socket", async () => {
    const other = await startLocalDatabase({ directory: path.join(scratch, "other"), database: "blog", env: process.env, clock: systemClock });
    try {
      expect(other.address.port).not.toBe(database.address.port);
      expect(other.socketPath).not.toBe(database.socketPath);
      expect(await query(other.variables, "SELECT DATABASE()")).toBe("blog\n");
      expect(await query(database.variables, "SELECT DATABASE()")).toBe("shop\n");
    } finally {
      await other.stop();
    }
    expect(serversOf(other.dataDirectory)).toEqual([]);
    expect(existsSync(other.socketPath)).toBe(false);
  });

  it("keeps its data across a stop and a start, with a new database created when lamp.json names one", async () => {
    await query(database.variables, "CREATE TABLE kept (v VARCHAR(20)); INSERT INTO kept VALUES ('still here')");
    const ca = readFileSync(database.variables.MYSQL_ATTR_SSL_CA!);
    await database.stop();
    expect(serversOf(database.dataDirectory)).toEqual([]);
    database = await startLocalDatabase({ directory, database: "shop2", env: process.env, clock: systemClock });
    expect(await query({ ...database.variables, DB_DATABASE: "shop" }, "SELECT v FROM kept")).toBe("still here\n");
    expect(await query(database.variables, "SELECT DATABASE()")).toBe("shop2\n");
    // The certificates are made once: a CA the developer trusted stays the same.
    expect(readFileSync(database.variables.MYSQL_ATTR_SSL_CA!)).toEqual(ca);
  });

  it("a process killed with SIGKILL (no cleanup runs) still leaves no server behind", async () => {
    const tsx = path.resolve("node_modules/.bin/tsx");
    const killed = path.join(scratch, "killed");
    const child = spawn(tsx, [path.resolve("test/database/fixtures/start-then-die.ts"), killed], { stdio: ["ignore", "pipe", "inherit"] });
    const started = await new Promise<{ pid: number; dataDirectory: string }>((resolve, reject) => {
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        output += text;
        if (output.includes("\n")) resolve(JSON.parse(output));
      });
      child.once("exit", (code) => reject(new Error(`exited ${code} before starting the database`)));
    });
    try {
      expect(serversOf(started.dataDirectory)).toEqual([started.pid]);
    } finally {
      // tsx runs the script in a child node: kill the whole tree without giving any of it a chance to clean up.
      for (const pid of execFileSync("pgrep", ["-P", String(child.pid)]).toString().trim().split("\n").map(Number)) process.kill(pid, "SIGKILL");
      child.kill("SIGKILL");
    }
    expect(await serversGone(started.dataDirectory)).toEqual([]);
  });
});
