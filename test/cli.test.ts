import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runLamp } from "./helpers/run-lamp.js";

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-cli-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("lamp (the program)", () => {
  it("--version prints the package version and exits 0", async () => {
    const { version } = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    const run = await runLamp(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it("--help lists every command with a one-line description", async () => {
    const run = await runLamp(["--help"]);
    expect(run.code).toBe(0);
    const commands = run.stdout.split("Commands:")[1] ?? "";
    for (const name of ["init", "dev", "deploy", "sync-assets", "logs", "info", "destroy"]) {
      expect(commands).toMatch(new RegExp(`^\\s+${name}\\b.*\\S+\\s+\\S+`, "m"));
    }
    for (const flag of ["--profile", "--region", "--endpoint-url", "--json", "--yes", "--verbose"]) {
      expect(run.stdout).toContain(flag);
    }
  });

  it("--help and --version load neither the AWS SDK nor any command's capability", async () => {
    const trace = path.join(scratch, "imports.txt");
    for (const args of [["--help"], ["--version"], ["init", "--help"]]) {
      const run = await runLamp(args, {
        nodeArgs: ["--import", path.join(repoRoot, "test/fixtures/trace-imports.mjs")],
        env: { LAMP_TRACE_IMPORTS: trace },
      });
      expect(run.code).toBe(0);
    }
    const loaded = await readFile(trace, "utf8");
    expect(loaded).toContain("/dist/cli.js"); // the trace works
    expect(loaded).not.toMatch(/@aws-sdk|@smithy/);
    expect(loaded).not.toMatch(/\/dist\/(scaffold|deploy|assets|logs|dev)\//);
  });

  it("an unknown command is a usage error (exit 2) with a suggestion, on stderr", async () => {
    const run = await runLamp(["inti"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/unknown command 'inti'/);
    expect(run.stderr).toMatch(/Did you mean init\?/);
  });

  it("an unknown option is a usage error, not a stack trace", async () => {
    const run = await runLamp(["init", "--colour"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--colour'/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("errors", () => {
  it("print one line and a hint, and the stack only with --verbose", async () => {
    const quiet = await runLamp(["init", "x", "--name", "9x", "--yes"], { cwd: scratch });
    expect(quiet.code).toBe(2);
    expect(quiet.stderr.trim().split("\n")).toEqual([
      '✖ Invalid stack name "9x": it must start with a letter.',
      "  Pass --name with letters, digits and hyphens, starting with a letter.",
    ]);
    const verbose = await runLamp(["init", "x", "--name", "9x", "--yes", "--verbose"], { cwd: scratch });
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/\n\s+at .*scaffold\/init\.js/);
  });

  it("with --json also arrive as a JSON object on stdout", async () => {
    const run = await runLamp(["init", "x", "--name", "9x", "--json"], { cwd: scratch });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { code: "usage", message: 'Invalid stack name "9x": it must start with a letter.', hint: expect.any(String) },
    });
  });

  it("never colour the output when NO_COLOR is set, even when forced", async () => {
    const run = await runLamp(["init", "x", "--name", "9x"], { cwd: scratch, env: { NO_COLOR: "1", FORCE_COLOR: "1" } });
    expect(run.stderr).not.toMatch(/\x1b\[/);
  });
});

describe("user-controlled text", () => {
  // A folder name that, printed raw, would clear the screen and overwrite the line.
  const hostile = "x\x1b[2J\ry";

  it("is printed with its control characters escaped, in results and in errors", async () => {
    const made = await runLamp(["init", hostile, "--name", "demo", "--yes"], { cwd: scratch, env: { FORCE_COLOR: "1" } });
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("x\\x1b[2J\\ry");
    expect(made.stdout).not.toContain("\x1b[2J");
    expect(made.stdout).not.toContain("\r");

    const refused = await runLamp(["init", hostile, "--name", "demo", "--yes"], { cwd: scratch, env: { FORCE_COLOR: "1" } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/x\\x1b\[2J\\ry is not empty/);
    expect(refused.stderr).not.toContain("\x1b[2J");
    expect(refused.stderr).not.toContain("\r");
  });
});
