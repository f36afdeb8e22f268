import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { lampBin, repoRoot, runLamp } from "./helpers/run-lamp.js";

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

/** Runs the built CLI with its stdout closed from the start, as `lamp … | head -0` would leave it. */
function runWithClosedStdout(args: string[], cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [lampBin, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe("output and usage", () => {
  it("a reader that goes away (`| head`) ends every command quietly, run after run", async () => {
    const runs = [
      ...[1, 2, 3, 4, 5].map((n) => ["init", `piped-${n}`, "--yes"]),
      ["--help"],
      ["--version"],
      ["init", "--help"],
      ["--json", "init", "bad", "--name", "9x"],
    ];
    for (const args of runs) {
      const run = await runWithClosedStdout(args, scratch);
      expect({ args, stderr: run.stderr.replace(/✖ Invalid stack name.*\n.*\n/, "") }).toEqual({ args, stderr: "" });
      expect(run.code).toBe(args.includes("9x") ? 2 : 0);
    }
  });

  it("`lamp` alone prints the help on stdout and succeeds", async () => {
    const run = await runLamp([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: lamp /);
    expect(run.stdout).toContain("Commands:");
    expect(run.stderr).toBe("");
  });

  it("a mistake in a command's arguments points at that command's help", async () => {
    const missing = await runLamp(["db", "import"], { cwd: scratch });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("✖ missing required argument 'file'\n  Run `lamp db import --help` for usage.\n");
    const unknownOption = await runLamp(["--region", "eu-west-1", "deploy", "--colour"], { cwd: scratch });
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/\n  Run `lamp deploy --help` for usage\.\n$/);
  });

  it("--json makes usage errors and --version JSON too", async () => {
    const unknown = await runLamp(["--json", "inti"]);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toEqual({ error: { code: "usage", message: expect.stringMatching(/unknown command 'inti'/), hint: "Run `lamp --help` for usage." } });

    const badValue = await runLamp(["init", "x", "--php", "7.4", "--json"], { cwd: scratch });
    expect(badValue.code).toBe(2);
    expect(JSON.parse(badValue.stdout)).toMatchObject({ error: { code: "usage", message: expect.stringMatching(/--php.*7\.4/) } });

    const { version } = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    const versioned = await runLamp(["--version", "--json"]);
    expect(versioned.code).toBe(0);
    expect(JSON.parse(versioned.stdout)).toEqual({ version });
  });

  it("an --endpoint-url (or AWS_ENDPOINT_URL) that is not a URL is a usage error naming it", async () => {
    const flag = await runLamp(["info", "--endpoint-url", "not-a-url"], { cwd: scratch });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe('✖ --endpoint-url "not-a-url" is not an http(s) URL.\n  Give a full URL such as http://127.0.0.1:4566.\n');
    const env = await runLamp(["info", "--region", "eu-west-1"], { cwd: scratch, env: { AWS_ENDPOINT_URL: "localhost:4566" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^✖ AWS_ENDPOINT_URL "localhost:4566" is not an http\(s\) URL\./);
  });
});
