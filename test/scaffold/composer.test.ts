import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLamp } from "../helpers/run-lamp.js";

/**
 * The project `lamp init` makes, installed with Debian's real `composer` and loaded with the
 * machine's real PHP. Packagist is out of reach (and switched off): a local path repository
 * stands in for bref/bref, requiring the PHP the project deploys, as the real package does.
 */
let scratch: string;
const localPhp = spawnSync("php", ["-r", "echo PHP_MAJOR_VERSION.'.'.PHP_MINOR_VERSION;"], { encoding: "utf8" }).stdout;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-composer-"));
  if (spawnSync("composer", ["--version"]).status !== 0) {
    throw new Error("composer is not installed: run scripts/setup.sh (Debian package `composer`).");
  }
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A bref/bref stand-in: its name, a version, the PHP it needs, and a layers.json. */
async function fakeBref(requiresPhp: string): Promise<string> {
  const dir = path.join(scratch, `fake-bref-${requiresPhp.replace(/\W/g, "")}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "composer.json"), JSON.stringify({ name: "bref/bref", version: "3.0.9", type: "library", require: { php: requiresPhp } }));
  await writeFile(path.join(dir, "layers.json"), JSON.stringify({ "arm-php-84": { "eu-west-1": 21 } }));
  return dir;
}

function composerInstall(project: string) {
  return spawnSync("composer", ["install", "--no-interaction", "--no-progress", "--working-dir", project], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: scratch,
      COMPOSER_HOME: path.join(scratch, "composer-home"),
      COMPOSER_DISABLE_NETWORK: "1",
      COMPOSER_ALLOW_SUPERUSER: "1",
    },
  });
}

/** The test's copy of the project's composer.json: Packagist off, the stand-in as a path repository. */
async function useLocalBref(project: string, brefDir: string): Promise<Record<string, unknown>> {
  const file = path.join(project, "composer.json");
  const composer = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  // bref/secrets-loader (what resolves `lamp secret`s in Lambda) gets a stand-in too.
  const loaderDir = path.join(scratch, "fake-secrets-loader");
  await mkdir(loaderDir, { recursive: true });
  await writeFile(path.join(loaderDir, "composer.json"), JSON.stringify({ name: "bref/secrets-loader", version: "1.1.0", type: "library" }));
  const local = (url: string) => ({ type: "path", url, options: { symlink: false } });
  await writeFile(file, JSON.stringify({ ...composer, repositories: [{ "packagist.org": false }, local(brefDir), local(loaderDir)] }, null, 2));
  return composer;
}

describe("composer install in a new project", () => {
  it("resolves for the PHP the template deploys, even when another PHP runs composer, and vendor/ loads under the local PHP", async () => {
    // A deployed PHP other than this machine's: 8.4 unless the machine has 8.4, then 8.3.
    const deployed = localPhp === "8.4" ? "8.3" : "8.4";
    const init = await runLamp(["init", "shop", "--yes", "--php", deployed, "--region", "eu-west-1"], { cwd: scratch });
    expect(init.code).toBe(0);
    const project = path.join(scratch, "shop");
    const composer = await useLocalBref(project, await fakeBref(`>=${deployed}`));
    expect(composer.config).toMatchObject({ platform: { php: deployed }, "platform-check": false });
    expect(composer.require).toMatchObject({ php: `>=${deployed}`, "bref/bref": "^3", "bref/secrets-loader": "^1.1" });

    const install = composerInstall(project);
    expect(install.stderr).not.toMatch(/Your requirements could not be resolved/);
    expect(install.status).toBe(0);
    expect(existsSync(path.join(project, "vendor/bref/bref/layers.json"))).toBe(true);
    // No generated check that would make vendor/autoload.php die under lamp dev's local PHP.
    expect(existsSync(path.join(project, "vendor/composer/platform_check.php"))).toBe(false);
    const load = spawnSync("php", ["-r", "require 'vendor/autoload.php'; echo 'loaded';"], { cwd: project, encoding: "utf8" });
    expect(load.stdout).toBe("loaded");
  });

  it("the platform setting is what makes it resolve: without it, composer refuses on this machine", async () => {
    const deployed = localPhp === "8.4" ? "8.3" : "8.4";
    const project = path.join(scratch, "bare");
    const init = await runLamp(["init", "bare", "--yes", "--php", deployed, "--region", "eu-west-1"], { cwd: scratch });
    expect(init.code).toBe(0);
    const composer = await useLocalBref(project, await fakeBref(`>=${deployed}`));
    const { platform: _platform, ...config } = composer.config as Record<string, unknown>;
    const file = path.join(project, "composer.json");
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), config }, null, 2));
    const install = composerInstall(project);
    expect(install.status).not.toBe(0);
    expect(install.stderr + install.stdout).toMatch(/requires php >=/);
  });

  it("platform-check is what keeps vendor/ loading under another local PHP: with Composer's check, autoload.php dies", async () => {
    const deployed = localPhp === "8.4" ? "8.3" : "8.4";
    const project = path.join(scratch, "checked");
    expect((await runLamp(["init", "checked", "--yes", "--php", deployed, "--region", "eu-west-1"], { cwd: scratch })).code).toBe(0);
    const composer = await useLocalBref(project, await fakeBref(`>=${deployed}`));
    const file = path.join(project, "composer.json");
    const { "platform-check": _check, ...config } = composer.config as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), config }, null, 2));
    expect(composerInstall(project).status).toBe(0);
    const load = spawnSync("php", ["-r", "require 'vendor/autoload.php'; echo 'loaded';"], { cwd: project, encoding: "utf8" });
    expect(load.stdout).not.toBe("loaded");
    expect(load.stdout + load.stderr).toMatch(/Composer detected issues in your platform/);
  });
});

describe("lamp init's default PHP", () => {
  async function fakePhpFpm(version: string): Promise<string> {
    const bin = path.join(scratch, `bin-${version}`);
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, "php-fpm"), `#!/bin/sh\necho "PHP ${version}.1 (fpm-fcgi) (built: Jan  1 2026 00:00:00)"\n`);
    await chmod(path.join(bin, "php-fpm"), 0o755);
    return bin;
  }

  it.each([
    ["8.3", "8.3", "php-83"],
    ["8.5", "8.5", "php-85"],
    ["8.1", "8.4", "php-84"],
    ["7.4", "8.4", "php-84"],
  ])("is the local php-fpm's when Bref has it (php-fpm %s -> PHP %s), else 8.4", async (local, expected, layer) => {
    const bin = await fakePhpFpm(local);
    const run = await runLamp(["init", `default-${local}`, "--yes", "--region", "eu-west-1", "--json"], { cwd: scratch, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ php: expected });
    const project = path.join(scratch, `default-${local}`);
    expect(await readFile(path.join(project, "template.yaml"), "utf8")).toContain(`:layer:arm-${layer}:`);
    expect(JSON.parse(await readFile(path.join(project, "composer.json"), "utf8")).config.platform).toEqual({ php: expected });
  });
});
