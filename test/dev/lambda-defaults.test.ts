import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { readOnlySupported } from "../../src/dev/lambda-php.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext } from "../helpers/context.js";
import { writeNewProject } from "../helpers/new-project.js";
import { mariadbForTests } from "../database/helpers.js";
import { phpFpmForTests, rawRequest } from "./helpers.js";

/**
 * `lamp dev` with no flags is Lambda: read-only code, one /tmp per instance with requests spread
 * over the instances, exactly the extensions of Bref's layer, the function's environment and
 * nothing of the developer's shell. Tested with real apps from Debian's packages (DokuWiki, Slim).
 */

const phpFpm = phpFpmForTests();
const fixtures = fileURLToPath(new URL("./fixtures/lambda/", import.meta.url));
const haveDokuWiki = existsSync("/usr/share/dokuwiki/doku.php") && existsSync("/etc/dokuwiki/dokuwiki.php");
const haveSlim = existsSync("/usr/share/php/Slim/autoload.php");
/** Debian's php-gd: the local build of the extension lamp dev loads for php.extensions: ["gd"]. */
const haveGd = ["8.2", "8.3", "8.4", "8.5"].some((version) => existsSync(`/etc/php/${version}/mods-available/gd.ini`));
for (const [have, what, pkg] of [[haveDokuWiki, "DokuWiki", "dokuwiki"], [haveSlim, "Slim", "php-slim"], [haveGd, "the local PHP's gd", "php-gd"]] as const) {
  if (process.env.CI && !have) throw new Error(`${pkg} is required in CI (scripts/setup.sh installs it)`);
  if (!have) console.warn(`\n⚠⚠⚠ SKIPPING the ${what} tests of lamp dev's Lambda defaults: install ${pkg} (scripts/setup.sh). ⚠⚠⚠\n`);
}
const namespaces = Boolean(phpFpm) && readOnlySupported();
if (phpFpm && !namespaces) {
  if (process.env.CI) throw new Error("CI must allow user namespaces: lamp dev makes the code read-only with them");
  console.warn("\n⚠⚠⚠ SKIPPING the read-only tests: this system does not allow user namespaces (unshare --user --mount). ⚠⚠⚠\n");
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A new project with the given page as its front controller, lamp.json changes and a shell environment for `lamp dev`. */
async function devProject(options: { page?: string; lampJson?: Record<string, unknown>; env?: NodeJS.ProcessEnv; setup?(root: string): void }) {
  const project = await writeNewProject({ name: "lambda-defaults" });
  cleanups.push(() => project.remove());
  if (options.page) writeFileSync(path.join(project.root, "public", "index.php"), readFileSync(path.join(fixtures, options.page)));
  const lampJsonPath = path.join(project.root, "lamp.json");
  writeFileSync(lampJsonPath, JSON.stringify({ ...JSON.parse(readFileSync(lampJsonPath, "utf8")), ...options.lampJson }));
  options.setup?.(project.root);
  const ctx = createTestContext({ cwd: project.root, env: options.env ?? process.env, clock: systemClock });
  return { root: project.root, ctx };
}

/** `lamp dev` (in process, default flags, two instances) on the project. */
async function started(run: Awaited<ReturnType<typeof devProject>>): Promise<DevServer> {
  const server = await startDevServer({ project: await loadProject(run.root), port: 0, host: "127.0.0.1", workers: 2, phpFpm }, run.ctx, uiDevLog(run.ctx));
  cleanups.push(() => server.close());
  return server;
}

async function probe(server: DevServer): Promise<{ env: Record<string, string>; gd: boolean; calendar: boolean; intl: boolean; mbstring: boolean; opcache: boolean; ini: Record<string, string> }> {
  const response = await rawRequest(server.url, { path: "/" });
  expect(response.status, response.body.toString()).toBe(200);
  return JSON.parse(response.body.toString("utf8"));
}

describe.skipIf(!phpFpm)("lamp dev's PHP: the function's environment, Bref's extensions and ini", () => {
  it("never passes an exported shell variable to PHP, nor AWS_EXECUTION_ENV; gives it Lambda's variables and lamp.json's", async () => {
    const run = await devProject({
      page: "probe.php",
      lampJson: { environment: { APP_ENV: "prod" } },
      env: { ...process.env, MY_API_KEY: "sk-from-my-shell", DATABASE_URL: "mysql://another-project", AWS_EXECUTION_ENV: "AWS_Lambda_php", AWS_PROFILE: "mine" },
    });
    const { env, ini } = await probe(await started(run));
    expect(env.MY_API_KEY).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.HOME).toBeUndefined();
    expect(env.AWS_EXECUTION_ENV).toBeUndefined();
    expect(env).toMatchObject({
      APP_ENV: "prod",
      BREF_RUNTIME: "fpm",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_LAMBDA_FUNCTION_NAME: "lambda-defaults-web",
      LAMBDA_TASK_ROOT: run.root,
      _HANDLER: "public/index.php",
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
      PATH: "/usr/local/bin:/usr/bin:/bin",
    });
    // Bref's php.ini values; PHP's production default where Bref sets none.
    expect(ini).toMatchObject({ post_max_size: "6M", max_execution_time: "30" });
  });

  it.skipIf(!haveGd)("has no gd by default (Bref's layer has none), and gd with php.extensions: [\"gd\"] on x86_64", async () => {
    const plain = await probe(await started(await devProject({ page: "probe.php" })));
    expect(plain).toMatchObject({ gd: false, calendar: false, intl: false, mbstring: true, opcache: true });

    const withGd = await probe(await started(await devProject({ page: "probe.php", lampJson: { php: { extensions: ["gd", "intl"] } } })));
    expect(withGd).toMatchObject({ gd: true, intl: true, calendar: false });
  });

  it("writes php/conf.d/lamp-extensions.ini for Bref's optional extensions, and removes it when none is asked for", async () => {
    const run = await devProject({ page: "probe.php", lampJson: { php: { extensions: ["intl"] } } });
    const server = await started(run);
    expect(readFileSync(path.join(run.root, "php", "conf.d", "lamp-extensions.ini"), "utf8")).toMatch(/^extension=intl$/m);
    await server.close();
    writeFileSync(path.join(run.root, "lamp.json"), JSON.stringify({ ...JSON.parse(readFileSync(path.join(run.root, "lamp.json"), "utf8")), php: { extensions: [] } }));
    await started(run);
    expect(existsSync(path.join(run.root, "php", "conf.d", "lamp-extensions.ini"))).toBe(false);
  });

  it("refuses an extra-extension layer for an arm64 function before starting, with the fix", async () => {
    const run = await devProject({
      page: "probe.php",
      lampJson: { php: { extensions: ["gd"] } },
      setup: (root) => writeFileSync(path.join(root, "template.yaml"), readFileSync(path.join(root, "template.yaml"), "utf8").replace("- x86_64", "- arm64")),
    });
    await expect(started(run)).rejects.toMatchObject({ message: expect.stringMatching(/gd.*x86_64 functions only.*arm64/), hint: expect.stringContaining("x86_64") });
  });

  it("follows a fatal \"undefined function\" of a known extension with a line naming the php.extensions entry", async () => {
    const run = await devProject({ page: "probe.php" });
    writeFileSync(path.join(run.root, "public", "index.php"), "<?php imagecreatetruecolor(10, 10);");
    const server = await started(run);
    expect((await rawRequest(server.url, { path: "/" })).status).toBe(500);
    await expect.poll(() => run.ctx.ui.texts("warn").join("\n")).toMatch(/imagecreatetruecolor\(\) is in the gd extension.*"gd" to "php.extensions"/);
  });
});

describe.skipIf(!phpFpm || !haveDokuWiki || !namespaces)("DokuWiki (Debian's package) in router mode", () => {
  /** DokuWiki's code as the document root, its conf and data folders inside the project (as in a deployed package). */
  const setupDokuWiki = (root: string) => {
    const web = path.join(root, "public");
    rmSync(web, { recursive: true, force: true });
    cpSync("/usr/share/dokuwiki", web, { recursive: true, dereference: true });
    cpSync("/etc/dokuwiki", path.join(root, "conf"), { recursive: true, dereference: true });
    cpSync("/var/lib/dokuwiki/data", path.join(root, "data"), { recursive: true, dereference: true });
    writeFileSync(path.join(web, "inc", "preload.php"), `<?php\ndefine('DOKU_CONF', dirname(__DIR__, 2) . '/conf/');\n`);
    writeFileSync(path.join(root, "conf", "local.php"), `<?php\n$conf['title'] = 'Lamp Wiki';\n$conf['savedir'] = dirname(__DIR__) . '/data';\n$conf['useacl'] = 0;\n`);
    mkdirSync(path.join(root, "php", "conf.d"), { recursive: true });
  };

  it("shows its setup error under default lamp dev, as in Lambda (read-only code), and works with --writable", async () => {
    const run = await devProject({ lampJson: { router: true }, setup: setupDokuWiki });
    const readOnly = await started(run);
    const lambda = await rawRequest(readOnly.url, { path: "/doku.php?id=start" });
    expect(lambda.body.toString("utf8")).toContain("DokuWiki Setup Error");
    await readOnly.close();

    const server = await startDevServer({ project: await loadProject(run.root), port: 0, host: "127.0.0.1", workers: 2, phpFpm, writable: true }, run.ctx, uiDevLog(run.ctx));
    cleanups.push(() => server.close());
    const page = await rawRequest(server.url, { path: "/doku.php?id=start" });
    expect(page.body.toString("utf8")).not.toContain("Setup Error");
    expect(page.body.toString("utf8")).toContain("Lamp Wiki");
    expect(page.status).toBe(200);
  });
});

describe.skipIf(!phpFpm || !haveSlim)("Slim's flash message across instances", () => {
  /** Posts the form, follows the redirect with the session cookie: the message the user sees. */
  const flash = async (server: DevServer): Promise<string> => {
    const post = await rawRequest(server.url, { method: "POST", path: "/save", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "" });
    expect(post.status).toBe(303);
    const cookie = String(post.headers["set-cookie"]).split(";", 1)[0]!;
    const done = await rawRequest(server.url, { path: "/done", headers: { Cookie: cookie } });
    expect(done.status).toBe(200);
    return done.body.toString("utf8");
  };

  it("is lost without a database: the redirect reaches the other instance, whose /tmp has no session", async () => {
    const server = await started(await devProject({ page: "slim-flash.php" }));
    expect(await flash(server)).toBe("no message");
  });

  it.skipIf(!mariadbForTests())("is kept with a database: the runtime layer stores sessions there", async () => {
    const server = await started(await devProject({ page: "slim-flash.php", lampJson: { database: {} } }));
    expect(server.database).toBeDefined();
    expect(await flash(server)).toBe("Saved!");
  }, 60_000);
});
