import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultConfig, loadProject, serializeConfig, validateConfig } from "../../src/project/config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lamp-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = (content: string) => writeFile(path.join(dir, "lamp.json"), content);

describe("lamp.json", () => {
  it("fills defaults for everything but the stack name and region", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1" }));
    const { config } = await loadProject(dir);
    expect(config).toEqual({
      stackName: "shop",
      region: "eu-west-1",
      handler: "public/index.php",
      router: false,
      documentRoot: "public",
      environment: {},
      assets: { dir: "assets", exclude: [], cacheControl: {}, invalidationThreshold: 50 },
      package: { exclude: [] },
    });
  });

  it("a `database` section, even empty, gets Aurora's pause-when-idle defaults", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", database: {} }));
    expect((await loadProject(dir)).config.database).toEqual({ engine: "mysql", name: "app", minCapacity: 0, maxCapacity: 2, autoPause: 300, network: "public" });
  });

  it("init's database is named after the stack, as a MySQL identifier", () => {
    expect(defaultConfig({ stackName: "my-shop-2", region: "eu-west-1", database: {} }).database?.name).toBe("my_shop_2");
  });

  it("round-trips what init writes, with $schema", async () => {
    const text = serializeConfig(defaultConfig({ stackName: "shop", region: "eu-west-1", environment: { APP_ENV: "prod" } }));
    expect(JSON.parse(text).$schema).toMatch(/lamp\.schema\.json$/);
    await write(text);
    expect((await loadProject(dir)).config.environment).toEqual({ APP_ENV: "prod" });
  });

  it.each([
    [{ region: "eu-west-1" }, /lamp\.json: \(root\) must have required property 'stackName'/],
    [{ stackName: "1shop", region: "eu-west-1" }, /lamp\.json: stackName must be letters, digits and hyphens/],
    [{ stackName: "shop", region: "Europe" }, /lamp\.json: region must be an AWS region/],
    [{ stackName: "shop", region: "eu-west-1", environment: { APP_ENV: 1 } }, /lamp\.json: environment\.APP_ENV must be string/],
    [{ stackName: "shop", region: "eu-west-1", environment: { "BAD-NAME": "x" } }, /lamp\.json: environment/],
    [{ stackName: "shop", region: "eu-west-1", assets: { invalidationThreshold: 0 } }, /lamp\.json: assets\.invalidationThreshold must be >= 1/],
    [{ stackName: "shop", region: "eu-west-1", assets: { exclude: "*.map" } }, /lamp\.json: assets\.exclude must be array/],
    [{ stackName: "shop", region: "eu-west-1", stack: "typo" }, /lamp\.json: \(root\) has an unknown property "stack"/],
    [{ stackName: "shop", region: "eu-west-1", documentRoot: "../www" }, /lamp\.json: documentRoot must be a folder inside the project such as public/],
    [{ stackName: "shop", region: "eu-west-1", documentRoot: "/var/www" }, /lamp\.json: documentRoot must be a folder inside the project/],
    [{ stackName: "shop", region: "eu-west-1", documentRoot: ".public" }, /lamp\.json: documentRoot must be a folder inside the project/],
    [{ stackName: "shop", region: "eu-west-1", router: "yes" }, /lamp\.json: router must be boolean/],
    [{ stackName: "shop", region: "eu-west-1", domain: 42 }, /lamp\.json: domain must be a domain name such as "www\.example\.com", or \{"name"/],
    [{ stackName: "shop", region: "eu-west-1", domain: { name: "example.com", alias: ["www.example.com"] } }, /lamp\.json: domain has an unknown property "alias"/],
    [{ stackName: "shop", region: "eu-west-1", domain: { aliases: ["www.example.com"] } }, /lamp\.json: domain must have required property 'name'/],
    [{ stackName: "shop", region: "eu-west-1", database: { engine: "postgres" } }, /lamp\.json: database\.engine must be equal to one of the allowed values/],
    [{ stackName: "shop", region: "eu-west-1", database: { name: "my-shop" } }, /lamp\.json: database\.name must match pattern/],
    [{ stackName: "shop", region: "eu-west-1", database: { minCapacity: 0.3 } }, /lamp\.json: database\.minCapacity must be multiple of 0\.5/],
    [{ stackName: "shop", region: "eu-west-1", database: { autoPause: 60 } }, /lamp\.json: database\.autoPause must be >= 300/],
    [{ stackName: "shop", region: "eu-west-1", database: { network: "vpc" } }, /lamp\.json: database\.network must be equal to one of the allowed values/],
  ])("rejects %j naming the field", async (data, message) => {
    await write(JSON.stringify(data));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: "config", message: expect.stringMatching(message) });
  });

  it("takes a domain as one name or as a main name with aliases", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", domain: "www.example.com" }));
    expect((await loadProject(dir)).config.domain).toBe("www.example.com");
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", domain: { name: "example.com", aliases: ["www.example.com"] } }));
    expect((await loadProject(dir)).config.domain).toEqual({ name: "example.com", aliases: ["www.example.com"] });
  });

  it.each([
    [".", /assets\.dir "\." is the project folder itself/],
    ["./", /assets\.dir "\.\/" is the project folder itself/],
    ["", /assets\.dir "" is the project folder itself/],
    ["..", /assets\.dir "\.\." is outside the project/],
    ["assets/../../site", /is outside the project/],
    ["/etc", /assets\.dir "\/etc" must be relative to the project/],
    ["C:\\site", /must use \/ separators/],
    ["public", /assets\.dir "public" holds the handler \(public\/index\.php\)/],
    ["public/", /holds the handler/],
    [".git", /is a dot-folder/],
  ])("rejects assets.dir %j naming it (exit 3)", async (assetsDir, message) => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", assets: { dir: assetsDir } }));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: "config", exitCode: 3, message: expect.stringMatching(message), hint: expect.stringMatching(/assets\.dir/) });
  });

  it("rejects an assets.dir that holds the handler's folder, and accepts folders beside or inside it", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", handler: "app/public/index.php", assets: { dir: "app" } }));
    await expect(loadProject(dir)).rejects.toMatchObject({ code: "config", message: expect.stringMatching(/assets\.dir "app" holds the handler \(app\/public\/index\.php\)/) });
    for (const ok of ["assets", "public/assets", "app/public/build", "static/../assets", "public-assets"]) {
      await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", assets: { dir: ok } }));
      expect((await loadProject(dir)).config.assets.dir).toBe(ok);
    }
  });

  it.each(["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])(
    "refuses environment.%s, a name Lambda sets itself (exit 3)",
    async (name) => {
      await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", environment: { [name]: "x" } }));
      await expect(loadProject(dir)).rejects.toMatchObject({ exitCode: 3, message: `lamp.json: environment.${name} is set by Lambda itself and cannot be set in lamp.json.` });
    },
  );

  it("accepts names Lambda lets a function set (TZ, LANG, AWS_LAMBDA_EXEC_WRAPPER)", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", environment: { TZ: "Europe/Paris", LANG: "fr_FR.UTF-8", AWS_LAMBDA_EXEC_WRAPPER: "/opt/w" } }));
    expect(Object.keys((await loadProject(dir)).config.environment)).toEqual(["TZ", "LANG", "AWS_LAMBDA_EXEC_WRAPPER"]);
  });

  it.each(["BAD-NAME", "1ST", "X", "APP ENV", "é"])("refuses environment key %j, naming it", async (name) => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", environment: { [name]: "x" } }));
    await expect(loadProject(dir)).rejects.toMatchObject({ exitCode: 3, message: `lamp.json: environment key ${JSON.stringify(name)} is not a Lambda variable name.` });
  });

  it("refuses a NUL byte in an environment value, and a line break in a Cache-Control value, naming the key", async () => {
    await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", environment: { APP_SECRET: "a\u0000b" } }));
    await expect(loadProject(dir)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/^lamp\.json: environment\.APP_SECRET contains a NUL character/) });
    for (const value of ["public, max-age=60\r\nSet-Cookie: a=b", "public\nx", "max-age=1\u0000"]) {
      await write(JSON.stringify({ stackName: "shop", region: "eu-west-1", assets: { cacheControl: { "fonts/**": value } } }));
      await expect(loadProject(dir)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/^lamp\.json: assets\.cacheControl\["fonts\/\*\*"\] contains a line break or NUL/) });
    }
  });

  it("reads a lamp.json saved with a UTF-8 byte order mark", async () => {
    await write(`\uFEFF${JSON.stringify({ stackName: "shop", region: "eu-west-1" })}`);
    expect((await loadProject(dir)).config.stackName).toBe("shop");
  });

  it("says how to fix a missing file or broken JSON", async () => {
    await expect(loadProject(dir)).rejects.toMatchObject({ message: expect.stringMatching(/No lamp\.json in/), hint: expect.stringMatching(/lamp init/) });
    await write("{ \"stackName\": ");
    await expect(loadProject(dir)).rejects.toMatchObject({ message: expect.stringMatching(/lamp\.json is not valid JSON/) });
  });

  it("does not modify the caller's object while filling defaults", async () => {
    const data = { stackName: "shop", region: "eu-west-1" };
    await validateConfig(data);
    expect(data).toEqual({ stackName: "shop", region: "eu-west-1" });
  });
});
