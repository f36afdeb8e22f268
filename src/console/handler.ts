import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import type { Ui } from "../core/ui.js";
import { consoleHandler } from "../project/command-line.js";

/** The console handler as this version of lamp ships it. */
export const bundledConsolePath = packagePath("templates", "console", "console.php");

/**
 * Makes sure the project has lamp/console.php (the console function's handler, and what `lamp run`
 * runs): written when missing, as the router is; an edited copy is kept, with a warning. Returns its
 * absolute path.
 */
export async function ensureConsoleFile(root: string, ui: Pick<Ui, "info" | "warn">): Promise<string> {
  const target = path.join(root, ...consoleHandler.split("/"));
  const bundled = await readFile(bundledConsolePath);
  const existing = await readFile(target).catch((error: unknown) => {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new LampError("io", `Cannot read ${target}: ${(error as Error).message}`);
  });
  if (existing) {
    if (!existing.equals(bundled)) ui.warn(`${consoleHandler} is not the console handler this lamp ships (edited, or from another lamp version); lamp uses it as it is. Delete it to get the current one.`);
    return target;
  }
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bundled, { flag: "wx" });
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return target;
    throw new LampError("io", `Cannot write ${target}: ${errnoCode(error) ?? (error as Error).message}.`, "Check the project folder's permissions.");
  }
  ui.info(`Wrote ${consoleHandler}: lamp's console handler (lamp run, release, schedule run your scripts through it). Commit it with your code.`);
  return target;
}
