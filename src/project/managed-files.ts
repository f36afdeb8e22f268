import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";
import type { Ui } from "../core/ui.js";

/**
 * Files lamp ships into a project and keeps there (the WordPress configuration and plugin, the AWS
 * client, the sendmail script): written when missing, never overwritten. A copy that differs from
 * the one this lamp ships (edited, or from another lamp) is used as it is, with a line saying so.
 */

export interface ManagedFile {
  /** Relative to the project, `/`-separated. */
  path: string;
  content: Buffer;
}

export type ManagedFileState = "written" | "current" | "differs";

async function ensureManagedFile(root: string, file: ManagedFile): Promise<ManagedFileState> {
  const target = path.join(root, ...file.path.split("/"));
  let existing: Buffer | undefined;
  try {
    existing = await readFile(target);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw new LampError("io", `Cannot read ${target}: ${(error as Error).message}`);
  }
  if (existing) return existing.equals(file.content) ? "current" : "differs";
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content, { flag: "wx" });
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return ensureManagedFile(root, file);
    throw new LampError("io", `Cannot write ${target}: ${errnoCode(error) ?? (error as Error).message}.`, "Check the project folder's permissions.");
  }
  return "written";
}

/** Writes the missing ones and says, in one line each, what was written and what differs. */
export async function ensureManagedFiles(root: string, files: readonly ManagedFile[], why: string, ui: Pick<Ui, "info" | "warn">): Promise<void> {
  const written: string[] = [];
  const differing: string[] = [];
  for (const file of files) {
    const state = await ensureManagedFile(root, file);
    if (state === "written") written.push(file.path);
    if (state === "differs") differing.push(file.path);
  }
  if (written.length > 0) ui.info(`Wrote ${written.join(", ")} (${why}). Commit them with your code.`);
  if (differing.length > 0) {
    ui.warn(`${differing.join(", ")} ${differing.length === 1 ? "is" : "are"} not what this lamp ships (edited, or from another lamp version); lamp uses ${differing.length === 1 ? "it" : "them"} as ${differing.length === 1 ? "it is" : "they are"}. Delete to get the current copy.`);
  }
}
