import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLampInTerminal } from "../helpers/terminal.js";

let scratch: string;
const terminals: ReturnType<typeof runLampInTerminal>[] = [];
const openTerminal = (args: string[]) => {
  const terminal = runLampInTerminal(args, scratch);
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
const down = "\x1b[B";
const ctrlC = "\x03";

describe("lamp init at a terminal", () => {
  it("asks for what the flags did not say and creates the project from the answers", async () => {
    const terminal = openTerminal(["init", "site", "--region", "eu-west-1"]);
    await terminal.waitFor(/Stack name/);
    terminal.type(`-shop${enter}`);
    await terminal.waitFor(/PHP version/);
    terminal.type(`${down}${enter}`); // 8.4 is preselected: one down is 8.5
    await terminal.waitFor(/Architecture/);
    terminal.type(enter);
    await terminal.waitFor(/Add a MySQL database/);
    terminal.type(enter); // no is preselected
    await terminal.waitFor(/Router mode/);
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
});
