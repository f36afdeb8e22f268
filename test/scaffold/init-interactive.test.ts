import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLampInTerminal } from "../helpers/terminal.js";

let scratch: string;
const terminals: ReturnType<typeof runLampInTerminal>[] = [];
const openTerminal = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const terminal = runLampInTerminal(args, scratch, env);
  terminals.push(terminal);
  return terminal;
};
beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-tty-"));
});
afterEach(async () => {
  for (const terminal of terminals.splice(0)) terminal.kill();
  await rm(scratch, { recursive: true, force: true });
});

const enter = "\r";
const backspace = (count: number) => "\x7f".repeat(count);

/** A PATH whose php-fpm says it is PHP `version`: the machine's PHP decides init's default. */
async function pathWithPhpFpm(version: string): Promise<string> {
  const bin = path.join(scratch, ".bin");
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, "php-fpm"), `#!/bin/sh\necho "PHP ${version}.0 (fpm-fcgi)"\n`);
  await chmod(path.join(bin, "php-fpm"), 0o755);
  return `${bin}:${process.env.PATH}`;
}
const down = "\x1b[B";
const ctrlC = "\x03";

describe("lamp init at a terminal", () => {
  it("asks for what the flags did not say and creates the project from the answers", async () => {
    const terminal = openTerminal(["init", "site", "--region", "eu-west-1"], { PATH: await pathWithPhpFpm("8.4") });
    await terminal.waitFor(/Stack name/);
    terminal.type(`-shop${enter}`);
    await terminal.waitFor(/PHP version/);
    terminal.type(`${down}${enter}`); // the local php-fpm's 8.4 is preselected: one down is 8.5
    await terminal.waitFor(/Architecture/);
    terminal.type(enter);
    await terminal.waitFor(/Memory \(MB\)/);
    terminal.type(enter);
    await terminal.waitFor(/Add a MySQL database/);
    terminal.type(enter); // no is preselected
    await terminal.waitFor(/Router mode \(many \.php entry points/); // the question, not the explanation before it
    // It says when to choose it before asking.
    expect(terminal.screen).toMatch(/many \.php entry points \(WordPress/);
    expect(terminal.screen).toMatch(/front controller \(Laravel, Symfony, Slim\)/);
    terminal.type(`y${enter}`);
    expect(await terminal.exited).toBe(0);
    expect(terminal.screen).not.toMatch(/AWS region/); // --region answered it
    const config = JSON.parse(await readFile(path.join(scratch, "site", "lamp.json"), "utf8"));
    expect(config).toMatchObject({ stackName: "site-shop", region: "eu-west-1", router: true, documentRoot: "public" });
    expect(config.database).toBeUndefined();
    const template = await readFile(path.join(scratch, "site", "template.yaml"), "utf8");
    expect(template).toContain(":layer:arm-php-85:");
    expect(template).toContain("Handler: lamp/router.php");
    expect(await readFile(path.join(scratch, "site", "lamp", "router.php"), "utf8")).toContain("serverless-lamp router");
  });

  it("Ctrl-C at a prompt cancels with exit 130 and writes nothing", async () => {
    const terminal = openTerminal(["init", "site"]);
    await terminal.waitFor(/Stack name/);
    terminal.type(enter);
    await terminal.waitFor(/AWS region/);
    terminal.type(ctrlC);
    expect(await terminal.exited).toBe(130);
    expect(terminal.screen).toMatch(/Cancelled: nothing was written/);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("says a folder is not empty before asking anything", async () => {
    await mkdir(path.join(scratch, "site"));
    await writeFile(path.join(scratch, "site", "notes.txt"), "mine");
    const terminal = openTerminal(["init", "site"]);
    expect(await terminal.exited).toBe(1);
    expect(terminal.screen).toMatch(/site is not empty \(1 entry\)/);
    expect(terminal.screen).not.toMatch(/Stack name/);
    expect(await readdir(path.join(scratch, "site"))).toEqual(["notes.txt"]);
  });

  it("checks each answer as it is given: a region without Bref layers and a memory size Lambda has not are asked again", async () => {
    const terminal = openTerminal(["init", "site", "--name", "site", "--php", "8.3", "--arch", "arm64", "--no-database"]);
    await terminal.waitFor(/AWS region/);
    terminal.type(`${backspace(9)}mars-1${enter}`);
    await terminal.waitFor(/Bref has no layers in "mars-1"/);
    expect(terminal.screen).not.toMatch(/Memory \(MB\)/);
    terminal.type(`${backspace(6)}eu-west-1${enter}`);
    await terminal.waitFor(/Memory \(MB\)/);
    terminal.type(`${backspace(4)}lots${enter}`);
    await terminal.waitFor(/whole number of MB from 128 to 10240/);
    terminal.type(`${backspace(4)}512${enter}`);
    await terminal.waitFor(/Router mode \(many \.php entry points/); // the question, not the explanation before it
    terminal.type(enter);
    expect(await terminal.exited).toBe(0);
    const template = await readFile(path.join(scratch, "site", "template.yaml"), "utf8");
    expect(template).toContain("arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-83:");
    expect(template).toContain("MemorySize: 512");
  }, 60_000); // several prompts, each drawn by a fresh terminal: a budget for a loaded machine, not a timing check
});
