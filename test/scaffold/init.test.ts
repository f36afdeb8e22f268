import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/project/config.js";
import { bundledRouterPath } from "../../src/router/router.js";
import { bundledConsolePath } from "../../src/console/handler.js";
import { scaffold } from "../../src/scaffold/init.js";
import { runLamp } from "../helpers/run-lamp.js";

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-init-"));
});
afterEach(async () => {
  await chmod(scratch, 0o755).catch(() => {});
  await rm(scratch, { recursive: true, force: true });
});

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("lamp init (non-interactive, as a subprocess)", () => {
  it("creates a working project from flags alone", async () => {
    const run = await runLamp(["init", "demo", "--yes", "--region", "eu-central-1", "--php", "8.3", "--arch", "x86_64", "--memory", "512"], { cwd: scratch });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("✔ Created demo/ for stack demo (PHP 8.3, x86_64, 512 MB, eu-central-1).");
    const project = path.join(scratch, "demo");
    expect(await tree(project)).toEqual([
      ".gitignore",
      "README.md",
      "assets/logo.svg",
      "assets/style.css",
      "composer.json",
      "lamp.json",
      "lamp/console.php",
      "php/conf.d/lamp.ini",
      "php/lamp-compression.php",
      "php/lamp-headers.php",
      "php/lamp-runtime.php",
      "php/lamp-sessions.php",
      "public/index.php",
      "template.yaml",
    ]);

    const config = JSON.parse(await readFile(path.join(project, "lamp.json"), "utf8"));
    expect(config.$schema).toMatch(/lamp\.schema\.json$/);
    expect(config).toMatchObject({ stackName: "demo", region: "eu-central-1", handler: "public/index.php", assets: { dir: "assets" } });
    await expect(validateConfig(config)).resolves.toBeDefined();

    // The console function's handler, which lamp run, release and schedule go through: lamp's own copy.
    expect(await readFile(path.join(project, "lamp/console.php"))).toEqual(await readFile(bundledConsolePath));

    const composer = JSON.parse(await readFile(path.join(project, "composer.json"), "utf8"));
    expect(composer.require["bref/bref"]).toBe("^3");

    const template = await readFile(path.join(project, "template.yaml"), "utf8");
    expect(template).toContain("arn:aws:lambda:eu-central-1:873528684822:layer:php-83:21");
    expect(template).toContain("MemorySize: 512");
    expect(template).not.toMatch(/\{\{\w+\}\}/);

    const page = await readFile(path.join(project, "public/index.php"), "utf8");
    expect(page).toContain('href="/assets/style.css"');
    expect(page).toMatch(/src="\/assets\/[\w.-]+\.(svg|png)"/);
    expect(page).toContain("$_GET");
    expect(await readFile(path.join(project, ".gitignore"), "utf8")).toMatch(/^\/vendor\/$/m);
  });

  it("--database adds lamp.json's database section and git-ignores .lamp/, where lamp dev keeps its data", async () => {
    const run = await runLamp(["init", "my-shop", "--yes", "--database"], { cwd: scratch });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('MySQL database "my_shop"');
    const config = JSON.parse(await readFile(path.join(scratch, "my-shop", "lamp.json"), "utf8"));
    expect(config.database).toEqual({ engine: "mysql", name: "my_shop", minCapacity: 0, maxCapacity: 2, autoPause: 300, network: "public" });
    expect(await readFile(path.join(scratch, "my-shop", ".gitignore"), "utf8")).toMatch(/^\/\.lamp\/$/m);
    // Amazon RDS's CA certificates, which the function's MYSQL_ATTR_SSL_CA names.
    expect(await readFile(path.join(scratch, "my-shop", "php", "rds-ca-bundle.pem"), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const without = await runLamp(["init", "plain", "--yes"], { cwd: scratch });
    expect(without.code, without.stderr).toBe(0);
    expect(JSON.parse(await readFile(path.join(scratch, "plain", "lamp.json"), "utf8")).database).toBeUndefined();
    expect(existsSync(path.join(scratch, "plain", "php", "rds-ca-bundle.pem"))).toBe(false);
  });

  it("--router makes a router-mode project: lamp's router is the handler, lamp.json says so", async () => {
    const run = await runLamp(["init", "blog", "--yes", "--router", "--region", "eu-west-1"], { cwd: scratch });
    expect(run.code).toBe(0);
    const project = path.join(scratch, "blog");
    expect(await tree(project)).toContain("lamp/router.php");
    expect(await readFile(path.join(project, "lamp/router.php"))).toEqual(await readFile(bundledRouterPath));
    const config = JSON.parse(await readFile(path.join(project, "lamp.json"), "utf8"));
    expect(config).toMatchObject({ router: true, documentRoot: "public" });
    const template = await readFile(path.join(project, "template.yaml"), "utf8");
    expect(template).toContain("Handler: lamp/router.php");
    expect(run.stdout).toMatch(/Router mode: lamp\/router\.php runs/);

    // Without --router: a front controller, and no router file.
    await runLamp(["init", "shop", "--yes"], { cwd: scratch });
    expect(await tree(path.join(scratch, "shop"))).not.toContain("lamp/router.php");
    expect(await readFile(path.join(scratch, "shop", "template.yaml"), "utf8")).toContain("Handler: public/index.php");
    expect(JSON.parse(await readFile(path.join(scratch, "shop", "lamp.json"), "utf8"))).toMatchObject({ router: false });
  });

  it("--json prints the result as one JSON object on stdout and the human lines on stderr", async () => {
    const run = await runLamp(["init", "app", "--json", "--region", "us-west-2", "--php", "8.4"], { cwd: scratch });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ stackName: "app", region: "us-west-2", php: "8.4", arch: "arm64", memory: 1024 });
    expect(result.layer).toBe("arn:aws:lambda:us-west-2:873528684822:layer:arm-php-84:21");
    expect(result.files).toContain("template.yaml");
    expect(run.stderr).toMatch(/Created app/);
  });

  it.each([
    [["--name", "9lives"], /Invalid stack name "9lives": it must start with a letter/],
    [["--name", "my_app"], /contains "_"/],
    [["--name", `a${"b".repeat(128)}`], /129 characters long/],
    [["--region", "mars-north-1", "--php", "8.4"], /no arm-php-84 layer in region "mars-north-1"[\s\S]*eu-west-1/],
    [["--memory", "64"], /--memory 64 is not a Lambda memory size/],
    [["--php", "7.4"], /argument '7.4' is invalid/],
  ])("rejects %j with a one-line error, a non-zero exit and nothing written", async (flags, message) => {
    const run = await runLamp(["init", "bad", "--yes", ...flags], { cwd: scratch });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("refuses a non-empty folder without --force and leaves it untouched", async () => {
    const project = path.join(scratch, "existing");
    await mkdir(project);
    await writeFile(path.join(project, "notes.txt"), "mine");
    const run = await runLamp(["init", "existing", "--yes"], { cwd: scratch });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is not empty[\s\S]*--force/);
    expect(await tree(project)).toEqual(["notes.txt"]);
    expect(await readdir(scratch)).toEqual(["existing"]);
  });

  it("with --force writes into a non-empty folder and keeps the files it does not replace", async () => {
    const project = path.join(scratch, "existing");
    await mkdir(path.join(project, "public"), { recursive: true });
    await writeFile(path.join(project, "notes.txt"), "mine");
    await writeFile(path.join(project, "public", "other.php"), "<?php");
    await writeFile(path.join(project, "public", "index.php"), "<?php echo 'my own front controller';");
    await writeFile(path.join(project, "composer.json"), "{}");
    const run = await runLamp(["init", "existing", "--yes", "--force"], { cwd: scratch });
    expect(run.code).toBe(0);
    // What --force replaced is named, once, on stderr; files it did not touch are not.
    expect(run.stderr).toBe("▲ Replaced 2 existing files with lamp's: composer.json, public/index.php.\n");
    const files = await tree(project);
    expect(files).toEqual(expect.arrayContaining(["notes.txt", "public/other.php", "public/index.php", "template.yaml"]));
    expect(await readdir(scratch)).toEqual(["existing"]);
  });

  it("with --force never deletes a folder that sits where a template file goes: it refuses, naming it, and writes nothing", async () => {
    const project = path.join(scratch, "p");
    await mkdir(path.join(project, "lamp.json"), { recursive: true });
    await writeFile(path.join(project, "lamp.json", "keep.txt"), "mine");
    await writeFile(path.join(project, "notes.txt"), "mine");
    const run = await runLamp(["init", "p", "--yes", "--force"], { cwd: scratch });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`✖ ${path.join(project, "lamp.json")} is a folder, where lamp init writes a file.\n  Move or rename that folder and run \`lamp init --force\` again: lamp never deletes a folder.\n`);
    expect(await tree(project)).toEqual(["lamp.json/keep.txt", "notes.txt"]);
    expect(await readdir(scratch)).toEqual(["p"]);
  });

  it("with --force refuses a file that sits where a template folder goes, before writing anything", async () => {
    const project = path.join(scratch, "p");
    await mkdir(project);
    await writeFile(path.join(project, "public"), "a file named public");
    const run = await runLamp(["init", "p", "--yes", "--force"], { cwd: scratch });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^✖ ${path.join(project, "public")} is a file, where lamp init writes the folder public/\\.`));
    expect(await tree(project)).toEqual(["public"]);
    expect(await readdir(scratch)).toEqual(["p"]);
  });

  it("names the stack after the folder sensibly and says how to cd into it, quoted for the shell", async () => {
    const shop = await runLamp(["init", "My Shop", "--yes", "--region", "eu-west-1"], { cwd: scratch });
    expect(shop.code).toBe(0);
    expect(shop.stdout).toMatch(/Created My Shop\/ for stack My-Shop /);
    expect(shop.stdout).toContain('  cd "My Shop"\n');
    const cafe = await runLamp(["init", "café", "--yes", "--region", "eu-west-1", "--json"], { cwd: scratch });
    expect(cafe.code).toBe(0);
    expect(JSON.parse(cafe.stdout)).toMatchObject({ stackName: "cafe" });
    const odd = await runLamp(["init", "it's $HOME", "--yes", "--region", "eu-west-1"], { cwd: scratch });
    expect(odd.code).toBe(0);
    expect(odd.stdout).toContain(`  cd 'it'\\''s $HOME'\n`);
    expect(JSON.parse(await readFile(path.join(scratch, "it's $HOME", "lamp.json"), "utf8")).stackName).toBe("it-s-HOME");
  });

  it("reports an unwritable folder clearly and leaves nothing behind", async () => {
    const locked = path.join(scratch, "locked");
    await mkdir(locked);
    await chmod(locked, 0o555);
    await chmod(scratch, 0o755);
    // Root ignores permission bits: run as an unprivileged user there.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const run = await runLamp(["init", path.join(locked, "app"), "--yes"], { cwd: scratch, ...asNobody });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Cannot create the project in .*locked: EACCES/);
    expect(await readdir(locked)).toEqual([]);
  });

  it("refuses a path that is a file", async () => {
    await writeFile(path.join(scratch, "file"), "x");
    const run = await runLamp(["init", "file", "--yes"], { cwd: scratch });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is a file, not a folder/);
  });

  it("without a terminal and without --yes, still takes defaults: the folder name and us-east-1", async () => {
    const run = await runLamp(["init", "my-site"], { cwd: scratch, env: { AWS_REGION: "" } });
    expect(run.code).toBe(0);
    const config = JSON.parse(await readFile(path.join(scratch, "my-site", "lamp.json"), "utf8"));
    expect(config).toMatchObject({ stackName: "my-site", region: "us-east-1" });
  });
});

describe("scaffold (interrupted)", () => {
  it("an abort mid-way leaves the target as it was and no staging folder", async () => {
    const controller = new AbortController();
    controller.abort(new Error("Interrupted."));
    const target = path.join(scratch, "app");
    await expect(
      scaffold({ target, name: "app", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false }, controller.signal),
    ).rejects.toThrow("Interrupted.");
    expect(await readdir(scratch)).toEqual([]);
  });

  it("an abort while writing into an existing folder leaves its files untouched", async () => {
    const target = path.join(scratch, "app");
    await mkdir(target);
    await writeFile(path.join(target, "template.yaml"), "mine");
    const controller = new AbortController();
    controller.abort(new Error("Interrupted."));
    await expect(
      scaffold({ target, name: "app", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: true }, controller.signal),
    ).rejects.toThrow();
    expect(await readFile(path.join(target, "template.yaml"), "utf8")).toBe("mine");
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readdir(scratch)).toEqual(["app"]);
  });
});

describe("scaffold (Bref already installed)", () => {
  it("takes the layer version from the project's vendor/bref/bref/layers.json when there is one", async () => {
    const target = path.join(scratch, "app");
    await mkdir(path.join(target, "vendor/bref/bref"), { recursive: true });
    await writeFile(path.join(target, "vendor/bref/bref/layers.json"), JSON.stringify({ "arm-php-84": { "eu-west-1": 77 } }));
    const result = await scaffold(
      { target, name: "app", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: true },
      new AbortController().signal,
    );
    expect(result.layer).toBe("arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-84:77");
    expect(await readFile(path.join(target, "template.yaml"), "utf8")).toContain(":layer:arm-php-84:77");
  });
});
