import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { clientOptionFile } from "../../src/database/client.js";
import { startLocalDatabase, type LocalDatabase } from "../../src/database/local-server.js";
import { createFakeClock } from "../helpers/context.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { lampBin, runLamp } from "../helpers/run-lamp.js";
import { runLampInTerminal } from "../helpers/terminal.js";
import { fakeCloudFormation, siteOutputs } from "../deploy/fake-cloudformation.js";
import { mariadbForTests, query, serversOf } from "./helpers.js";

const ready = Boolean(mariadbForTests());

describe("the client's option file", () => {
  it("holds the password quoted, and a socket or TCP address; TLS for Aurora", () => {
    const file = clientOptionFile({ host: "db.example.com", port: 3306, database: "shop", username: "lamp", password: 'p"w\\x', tls: true });
    expect(file).toBe('[client]\nuser="lamp"\npassword="p\\"w\\\\x"\nhost="db.example.com"\nport=3306\nprotocol=tcp\nssl\ndefault-character-set=utf8mb4\n');
    expect(clientOptionFile({ host: "127.0.0.1", port: 1, socketPath: "/tmp/s.sock", database: "shop", username: "lamp", password: "x", tls: false })).toContain('socket="/tmp/s.sock"\nprotocol=socket\n');
  });
});

describe.skipIf(!ready)("lamp db export / import / --remote", () => {
  let scratch: string;
  let root: string;
  let server: LocalDatabase;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-db-cmd-"));
    root = path.join(scratch, "shop");
    const init = await runLamp(["init", root, "--yes", "--database"]);
    expect(init.code, init.stderr).toBe(0);
    // The server lamp dev would be running: lamp db finds it and uses it.
    server = await startLocalDatabase({ directory: path.join(root, ".lamp", "mariadb"), database: "shop", env: process.env, clock: systemClock });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("export -> import round-trips tables, text and binary data, through the running server", async () => {
    await query(server.variables, "CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(50), picture BLOB); INSERT INTO products VALUES (1, 'Crème brûlée 🍮', UNHEX('00FF10')), (2, 'O''Brien', NULL)");
    const before = await query(server.variables, "SELECT id, name, HEX(picture) FROM products ORDER BY id");
    const exported = await runLamp(["db", "export", "backup.sql"], { cwd: root });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/Exported the local database shop to backup\.sql \(\d+\.\d MB\)/);
    expect(exported.stderr).not.toContain("Starting the local database");
    const dump = readFileSync(path.join(root, "backup.sql"), "utf8");
    expect(dump).toContain("CREATE TABLE `products`");
    expect(dump).not.toContain(server.variables.DB_PASSWORD);
    expect(readdirSync(root).filter((name) => name.includes(".partial"))).toEqual([]);

    await query(server.variables, "DROP TABLE products");
    const imported = await runLamp(["db", "import", "backup.sql"], { cwd: root });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain("Imported backup.sql into the local database shop");
    expect(await query(server.variables, "SELECT id, name, HEX(picture) FROM products ORDER BY id")).toBe(before);
    expect(`${exported.stdout}${exported.stderr}${imported.stdout}${imported.stderr}`).not.toContain(server.variables.DB_PASSWORD);
  });

  it("import into a database that has tables asks first; without a terminal or --yes it changes nothing", async () => {
    writeFileSync(path.join(root, "wipe.sql"), "DROP TABLE IF EXISTS products;\n");
    const refused = await runLamp(["db", "import", "wipe.sql"], { cwd: root });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/The local database shop has \d+ tables?; importing wipe\.sql may replace their data/);
    expect(refused.stderr).toContain("Pass --yes.");
    expect(await query(server.variables, "SELECT COUNT(*) FROM products")).toBe("2\n");
  });

  it("shell opens the client at the terminal on the project's database, as its user, and exits with it", async () => {
    const terminal = runLampInTerminal(["db", "shell"], root);
    try {
      await terminal.waitFor(/MariaDB \[shop\]>/);
      terminal.type("SELECT CONCAT('answer=', 40 + 2) AS a, CURRENT_USER() AS u;\r");
      await terminal.waitFor(/answer=42/);
      expect(terminal.screen).toContain("lamp@localhost");
      terminal.type("\\q\r");
      expect(await terminal.exited).toBe(0);
      expect(terminal.screen).not.toContain(server.variables.DB_PASSWORD);
    } finally {
      terminal.kill();
    }
  });

  it("import runs SQL only: a dump's shell commands (\\!, system) run nothing, and the import stops saying where and in what state", async () => {
    const marker = path.join(scratch, "shell-ran");
    for (const command of [`\\! touch ${marker}`, `system touch ${marker}`]) {
      writeFileSync(path.join(root, "evil.sql"), `CREATE TABLE before_evil (id INT);\n${command}\nCREATE TABLE after_evil (id INT);\n`);
      const run = await runLamp(["db", "import", "evil.sql", "--yes"], { cwd: root });
      expect(run.code, run.stderr).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(run.stderr).toContain("evil.sql has a client command that runs a shell or touches files");
      expect(run.stderr).toContain("at line 2; lamp db import runs SQL only, and stopped there: the local database shop is partially imported");
      expect(run.stderr).toContain("Remove that command from the dump");
      expect(await query(server.variables, "SHOW TABLES LIKE '%_evil'")).toBe("before_evil\n");
      await query(server.variables, "DROP TABLE before_evil");
    }
  });

  it("import keeps the password out of any named file (an inherited descriptor), so even SIGKILL leaves none; Ctrl-C says the database is partially imported", async () => {
    const tmp = mkdtempSync(path.join(scratch, "tmp-"));
    writeFileSync(path.join(root, "slow.sql"), "CREATE TABLE slow_first (id INT);\nSELECT SLEEP(20);\nCREATE TABLE slow_never (id INT);\n");
    const started = async () => (await query(server.variables, "SHOW TABLES LIKE 'slow_first'")) === "slow_first\n";
    const filesUnder = (folder: string): string[] => readdirSync(folder, { recursive: true, encoding: "utf8" });
    for (const signal of ["SIGKILL", "SIGINT"] as const) {
      const child = spawn(process.execPath, [lampBin, "db", "import", "slow.sql", "--yes"], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
      const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
      while (!(await started())) await new Promise((resolve) => setTimeout(resolve, 50));
      // While the client runs: nothing in the temp folder (the old client.cnf held the password there).
      expect(filesUnder(tmp)).toEqual([]);
      child.kill(signal);
      const code = await exited;
      expect(filesUnder(tmp)).toEqual([]);
      if (signal === "SIGINT") {
        expect(code).toBe(130);
        expect(stderr).toMatch(/Interrupted after \d+\.\d MB of \d+\.\d MB: the local database shop is partially imported: the statements before that point ran, the rest did not\./);
        expect(stderr).toContain("Run `lamp db import slow.sql --yes` again to import the whole dump");
      }
      await query(server.variables, "DROP TABLE slow_first");
    }
    expect(await query(server.variables, "SHOW TABLES LIKE 'slow_never'")).toBe("");
  });

  it("refuses to import with a client that cannot refuse a dump's shell commands", async () => {
    const bin = mkdtempSync(path.join(scratch, "old-client-"));
    // A client as old ones are: no --sandbox, no --commands in its --help.
    writeFileSync(path.join(bin, "mariadb"), "#!/bin/sh\necho '  --batch  Don\'t use history file.'\nexit 0\n", { mode: 0o755 });
    const run = await runLamp(["db", "import", "backup.sql", "--yes"], { cwd: root, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("cannot refuse the shell commands a dump may hold");
    expect(run.stderr).toContain("MariaDB's 10.11.8 or later");
  });

  it("a missing file or a project without a database: one line, nothing started", async () => {
    const missing = await runLamp(["db", "import", "nope.sql"], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.sql: no such file.");
    const plain = path.join(scratch, "plain");
    expect((await runLamp(["init", plain, "--yes"])).code).toBe(0);
    const none = await runLamp(["db", "export"], { cwd: plain });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain("This project has no database");
  });

  it("without lamp dev running, starts the project's server for the job and stops it after", async () => {
    const other = path.join(scratch, "blog");
    expect((await runLamp(["init", other, "--yes", "--database"])).code).toBe(0);
    const exported = await runLamp(["db", "export", "empty.sql"], { cwd: other });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain("Local database blog started");
    expect(existsSync(path.join(other, "empty.sql"))).toBe(true);
    expect(serversOf(path.join(other, ".lamp", "mariadb", "data"))).toEqual([]);
  });

  it("--remote: the deployed endpoint from the stack, credentials from Secrets Manager, asks before overwriting, never prints the password", async () => {
    const cfn = fakeCloudFormation(createFakeClock(), { artifactsBucket: "unused" });
    const secrets = mockClient(SecretsManagerClient);
    const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:DatabaseSecret-x";
    try {
      // The "Aurora" endpoint is this test's server: what matters is what lamp sends where.
      cfn.addStack("shop", "UPDATE_COMPLETE", [
        ...siteOutputs("shop"),
        { OutputKey: "DatabaseEndpoint", OutputValue: "127.0.0.1" },
        { OutputKey: "DatabasePort", OutputValue: server.variables.DB_PORT },
        { OutputKey: "DatabaseClusterId", OutputValue: "shop-databasecluster-abc" },
        { OutputKey: "DatabaseSecretArn", OutputValue: secretArn },
        { OutputKey: "DatabaseName", OutputValue: "shop" },
        { OutputKey: "DatabaseNetwork", OutputValue: "public" },
      ]);
      secrets.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: JSON.stringify({ username: "lamp", password: server.variables.DB_PASSWORD }) });
      const env = { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };

      const exported = await runCliInProcess(["db", "export", "remote.sql", "--remote"], { cwd: root, env });
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stderr).toContain("Exported the deployed database shop to remote.sql");
      expect(readFileSync(path.join(root, "remote.sql"), "utf8")).toContain("CREATE TABLE `products`");

      const refused = await runCliInProcess(["db", "import", "wipe.sql", "--remote"], { cwd: root, env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/The deployed database shop has \d+ tables?; importing wipe\.sql may replace their data/);
      expect(await query(server.variables, "SELECT COUNT(*) FROM products")).toBe("2\n");

      const imported = await runCliInProcess(["db", "import", "wipe.sql", "--remote", "--yes"], { cwd: root, env });
      expect(imported.code, imported.stderr).toBe(0);
      expect(await query(server.variables, "SHOW TABLES LIKE 'products'")).toBe("");
      for (const run of [exported, refused, imported]) expect(run.stdout + run.stderr).not.toContain(server.variables.DB_PASSWORD);

      cfn.addStack("shop", "UPDATE_COMPLETE", [{ OutputKey: "DatabaseClusterId", OutputValue: "c" }, { OutputKey: "DatabaseEndpoint", OutputValue: "x" }, { OutputKey: "DatabaseSecretArn", OutputValue: secretArn }, { OutputKey: "DatabaseNetwork", OutputValue: "private" }]);
      const isPrivate = await runCliInProcess(["db", "shell", "--remote"], { cwd: root, env });
      expect(isPrivate.code).toBe(3);
      expect(isPrivate.stderr).toContain("The deployed database is in private subnets");
    } finally {
      cfn.mock.restore();
      secrets.restore();
    }
  });
});

describe("a missing MariaDB/MySQL client", () => {
  it("is one line naming both tools and how to install them", async () => {
    const { findClientTool } = await import("../../src/database/client.js");
    const emptyPath = mkdtempSync(path.join(os.tmpdir(), "lamp-no-client-"));
    try {
      expect(() => findClientTool("dump", { PATH: emptyPath })).toThrow(/^mariadb-dump or mysqldump was not found \(looked on PATH and in the sbin folders\)\.$/);
      try {
        findClientTool("client", { PATH: emptyPath });
        expect.unreachable("findClientTool should have thrown");
      } catch (error) {
        expect((error as { hint?: string }).hint).toMatch(/apt-get install mariadb-client.*brew install mariadb/);
      }
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });
});
