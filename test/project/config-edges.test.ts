import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProject } from "../../src/project/config.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";

/** Issue 17 items 3, 5, 11 and 16: lamp.json values refused when it is read, each naming the key at fault. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lamp-config-edges-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { stackName: "shop", region: "eu-west-1" };
const write = (content: unknown) => writeFile(path.join(dir, "lamp.json"), typeof content === "string" ? content : JSON.stringify(content, null, 2));
const refusal = async (content: unknown) => {
  await write(content);
  const error = (await loadProject(dir).then(() => undefined, (caught: unknown) => caught)) as { exitCode: number; message: string; hint?: string } | undefined;
  expect(error, "lamp.json was accepted").toBeDefined();
  expect(error!.exitCode).toBe(3);
  return error!;
};

describe("assets.dir and documentRoot (router mode would publish PHP source)", () => {
  it.each([
    [{ router: true, handler: "lamp/router.php", documentRoot: "public", assets: { dir: "public/assets" } }, 'assets.dir "public/assets" is inside the documentRoot "public"'],
    [{ router: true, handler: "lamp/router.php", documentRoot: "web", assets: { dir: "web" } }, 'assets.dir "web" is also the documentRoot'],
    [{ router: true, handler: "lamp/router.php", documentRoot: "static/site", assets: { dir: "static" } }, 'assets.dir "static" holds the documentRoot "static/site"'],
    [{ router: true, handler: "lamp/router.php", documentRoot: "web/", assets: { dir: "./web" } }, 'assets.dir "./web" is also the documentRoot'],
  ])("%j is refused", async (extra, message) => {
    const error = await refusal({ ...base, ...extra });
    expect(error.message).toContain(`lamp.json: ${message}`);
    expect(error.message).toContain("PHP source would be published at /assets/");
  });

  it.each([
    ["assets", { assets: { dir: "static" } }, "is the assets folder"],
    ["assets/site", { assets: { dir: "static" } }, "is the assets folder"],
    ["php", {}, "is php/"],
    ["lamp", {}, "is lamp's own folder (lamp/), where the router lives"],
    ["lamp/", {}, "is lamp's own folder"],
  ])("documentRoot %j is refused", async (documentRoot, extra, message) => {
    const error = await refusal({ ...base, router: true, handler: "lamp/router.php", documentRoot, ...extra });
    expect(error.message).toContain(`lamp.json: documentRoot ${JSON.stringify(documentRoot)} ${message}`);
  });

  it("a documentRoot that is a symlink out of the project is refused", async () => {
    const outside = await mkdtemp(path.join(tmpdir(), "lamp-outside-"));
    try {
      await symlink(outside, path.join(dir, "public"));
      const error = await refusal({ ...base, router: true, handler: "lamp/router.php" });
      expect(error.message).toBe(`lamp.json: documentRoot "public" leads to ${outside} (a symlink), which lamp would publish.`);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("a documentRoot that is the project itself (a symlink to .) or holds lamp/ (the router) is refused", async () => {
    await mkdir(path.join(dir, "lamp"));
    await symlink(".", path.join(dir, "public"));
    expect((await refusal({ ...base, router: true, handler: "lamp/router.php" })).message).toBe(
      'lamp.json: documentRoot "public" leads to the project folder itself (a symlink), which lamp would publish.',
    );
    await rm(path.join(dir, "public"));
    await mkdir(path.join(dir, "site"));
    await rm(path.join(dir, "lamp"), { recursive: true });
    await symlink("site/lamp", path.join(dir, "lamp"));
    await mkdir(path.join(dir, "site", "lamp"));
    expect((await refusal({ ...base, router: true, handler: "lamp/router.php", documentRoot: "site" })).message).toBe(
      'lamp.json: documentRoot "site" holds lamp/ (the router), which would run itself at /lamp/router.php.',
    );
  });

  it("without the router, an assets folder inside the web root (public/assets, beside the front controller) stays possible", async () => {
    await write({ ...base, assets: { dir: "public/assets" } });
    expect((await loadProject(dir)).config.assets.dir).toBe("public/assets");
    expect((await refusal({ ...base, documentRoot: "web", handler: "src/index.php", assets: { dir: "web" } })).message).toContain('assets.dir "web" is also the documentRoot');
  });

  it("a symlink inside the project, and the usual layout, are fine", async () => {
    await mkdir(path.join(dir, "web"));
    await symlink("web", path.join(dir, "public"));
    await write({ ...base, router: true, handler: "lamp/router.php", assets: { dir: "assets" } });
    expect((await loadProject(dir)).config.documentRoot).toBe("public");
  });

  it("every command refuses it before doing anything (lamp dev, lamp deploy)", async () => {
    await mkdir(path.join(dir, "public", "assets"), { recursive: true });
    await writeFile(path.join(dir, "public", "wp-config.php"), "<?php $password = 'secret';\n");
    await write({ ...base, router: true, handler: "lamp/router.php", assets: { dir: "public/assets" } });
    for (const command of [["dev", "--port", "0"], ["deploy", "--yes"]]) {
      const run = await runCliInProcess(["--endpoint-url", "http://127.0.0.1:9", ...command], { cwd: dir, env: { PATH: process.env.PATH } });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/^✖ lamp\.json: assets\.dir "public\/assets" is inside the documentRoot "public"/);
    }
  });
});

describe("environment: the names lamp owns", () => {
  it.each(["LAMP_ORIGIN_TOKEN", "LAMP_DOCUMENT_ROOT", "LAMP_ANYTHING"])("environment.%s is refused, naming it", async (name) => {
    const error = await refusal({ ...base, environment: { APP_ENV: "prod", [name]: "x" } });
    expect(error.message).toBe(`lamp.json: environment.${name} is a name lamp sets itself, the runtime layer's (LAMP_*), and cannot be set in lamp.json.`);
    expect(error.hint).toContain(`Remove ${name}`);
  });

  it.each(["DB_HOST", "DB_PASSWORD", "DB_ANYTHING", "DATABASE_URL", "MYSQL_ATTR_SSL_CA"])("with lamp's database, environment.%s is refused, naming it", async (name) => {
    const error = await refusal({ ...base, database: {}, environment: { [name]: "x" } });
    expect(error.message).toBe(
      `lamp.json: environment.${name} is a name lamp sets itself, the database's (DB_*, DATABASE_URL, MYSQL_ATTR_SSL_CA, set from lamp.json's database), and cannot be set in lamp.json.`,
    );
  });

  it("without lamp's database, an app reaching its own database names it as it likes (DB_HOST, DATABASE_URL)", async () => {
    await write({ ...base, environment: { DB_HOST: "db.example.com", DATABASE_URL: "mysql://u@db.example.com/app" } });
    expect(Object.keys((await loadProject(dir)).config.environment)).toEqual(["DB_HOST", "DATABASE_URL"]);
  });

  it("names that merely look alike are the app's own", async () => {
    await write({ ...base, environment: { APP_DB_HOST: "x", LAMPLIGHT: "y", DATABASE: "z" } });
    expect(Object.keys((await loadProject(dir)).config.environment)).toEqual(["APP_DB_HOST", "LAMPLIGHT", "DATABASE"]);
  });

  it("the runtime layer's documented switches stay the app's to set (LAMP_SESSIONS, LAMP_SESSION_LOCK_SECONDS, LAMP_SITE_URL, LAMP_COMPRESSION)", async () => {
    const switches = { LAMP_SESSIONS: "files", LAMP_SESSION_LOCK_SECONDS: "5", LAMP_SITE_URL: "https://example.com", LAMP_COMPRESSION: "off" };
    await write({ ...base, environment: switches });
    expect(Object.keys((await loadProject(dir)).config.environment)).toEqual(Object.keys(switches));
  });
});

describe("database.name", () => {
  it.each(["mysql", "sys", "information_schema", "performance_schema", "MySQL"])("%j, one of MySQL's own schemas, is refused", async (name) => {
    const error = await refusal({ ...base, database: { name } });
    expect(error.message).toBe(`lamp.json: database.name "${name}" is one of MySQL's own schemas.`);
  });
});

describe("mistakes a new user makes", () => {
  it("a syntax error gives its line and column", async () => {
    const error = await refusal('{\n  "stackName": "shop",\n  "region": eu-west-1\n}\n');
    expect(error.message).toBe("lamp.json is not valid JSON at line 3, column 13: Unexpected token 'e'.");
  });

  it("a trailing comma gives its line and column", async () => {
    const error = await refusal('{\n  "stackName": "shop",\n  "region": "eu-west-1",\n}\n');
    expect(error.message).toMatch(/^lamp\.json is not valid JSON at line 4, column 1: /);
  });

  it.each([
    [{ ...base, regoin: "eu-west-1" }, 'lamp.json: (root) has an unknown property "regoin" (did you mean "region"?).'],
    [{ ...base, documentroot: "public" }, 'lamp.json: (root) has an unknown property "documentroot" (did you mean "documentRoot"?).'],
    [{ ...base, assets: { exlcude: ["*.map"] } }, 'lamp.json: assets has an unknown property "exlcude" (did you mean "exclude"?).'],
    [{ ...base, database: { minCapacty: 0 } }, 'lamp.json: database has an unknown property "minCapacty" (did you mean "minCapacity"?).'],
    [{ ...base, colour: "blue" }, 'lamp.json: (root) has an unknown property "colour".'],
  ])("an unknown key gets a suggestion when one is close: %j", async (content, message) => {
    expect((await refusal(content)).message).toBe(message);
  });
});
