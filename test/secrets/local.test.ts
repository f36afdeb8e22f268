import { mkdir, stat, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { startLampDev } from "../helpers/lamp-dev.js";
import { runLamp } from "../helpers/run-lamp.js";
import { runLampInTerminal } from "../helpers/terminal.js";
import { copyFixtureApp, phpFpmForTests } from "../dev/helpers.js";

/** `lamp secret set NAME --local`: a private file under .lamp/, given to PHP by lamp dev (real php-fpm) as plain variables. */
const phpFpm = phpFpmForTests();
let app: { root: string; remove(): void };

beforeAll(async () => {
  app = copyFixtureApp();
  await writeFile(
    path.join(app.root, "public", "index.php"),
    "<?php header('Content-Type: application/json'); echo json_encode(['getenv' => getenv('SHOP_API_KEY'), 'server' => $_SERVER['SHOP_API_KEY'] ?? null]);\n",
  );
  const file = path.join(app.root, "lamp.json");
  const config = JSON.parse(await readFile(file, "utf8")) as Record<string, any>;
  config.environment.MAIL_PASSWORD = "q7Hk2LmZ9xPa4VtR8wYc";
  await writeFile(file, JSON.stringify(config));
});
afterAll(() => app?.remove());

describe.skipIf(!phpFpm)("local secrets", () => {
  it("are kept in .lamp/secrets.json (0600), listed by name only, and reach PHP under lamp dev and lamp run", async () => {
    const set = await runCliInProcess(["secret", "set", "SHOP_API_KEY", "--local"], { cwd: app.root, stdin: "local-only-value\n" });
    expect(set.code, set.stderr).toBe(0);
    const file = path.join(app.root, ".lamp", "secrets.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ SHOP_API_KEY: "local-only-value" });
    // The fixture has no .gitignore: lamp says how to keep the file out of the repository.
    expect(set.stderr).toContain("does not ignore .lamp/: add the line /.lamp/");

    const list = await runCliInProcess(["secret", "list", "--local", "--json"], { cwd: app.root });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).secrets.map((secret: { name: string }) => secret.name)).toEqual(["SHOP_API_KEY"]);
    expect(list.stdout + set.stdout + set.stderr).not.toContain("local-only-value");

    const run = await startLampDev(app.root);
    try {
      const answer = (await (await fetch(run.url)).json()) as { getenv: string; server: string };
      expect(answer).toEqual({ getenv: "local-only-value", server: "local-only-value" });
      // A secret-looking value in lamp.json's environment is pointed at `lamp secret`.
      expect(run.stderr()).toMatch(/MAIL_PASSWORD looks like a secret.*lamp secret set MAIL_PASSWORD/);
    } finally {
      run.child.kill("SIGTERM");
      await run.exit;
    }

    // lamp run gives them to a script the same way.
    await mkdir(path.join(app.root, "scripts"), { recursive: true });
    await writeFile(path.join(app.root, "scripts", "show.php"), "<?php echo json_encode(getenv('SHOP_API_KEY'));\n");
    const script = await runLamp(["run", "--", "scripts/show.php"], { cwd: app.root });
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout.trim().split("\n").at(-1)).toBe('"local-only-value"');

    const removed = await runCliInProcess(["secret", "rm", "SHOP_API_KEY", "--local"], { cwd: app.root });
    expect(removed.code).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({});
  }, 60_000);

  it("at a terminal, asks for the value without showing what is typed", async () => {
    await writeFile(path.join(app.root, ".gitignore"), "/vendor/\n/.lamp/\n");
    const terminal = runLampInTerminal(["secret", "set", "TYPED_SECRET", "--local"], app.root);
    try {
      await terminal.waitFor(/Value of TYPED_SECRET \(not shown\)/);
      terminal.type("typed-hidden-value\r");
      expect(await terminal.exited).toBe(0);
      expect(terminal.screen).toContain("Set TYPED_SECRET in");
      expect(terminal.screen).not.toContain("typed-hidden-value");
      expect(terminal.screen).not.toContain("does not ignore .lamp/");
      expect(JSON.parse(await readFile(path.join(app.root, ".lamp", "secrets.json"), "utf8")).TYPED_SECRET).toBe("typed-hidden-value");
    } finally {
      terminal.kill();
    }
  }, 30_000);
});
