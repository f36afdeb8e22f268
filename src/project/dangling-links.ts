import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Symlinks of the project whose target does not exist (Debian's WordPress links wp-config.php and
 * others into /etc): neither `lamp dev` nor Lambda can serve or run them. `lamp deploy` leaves them
 * out of the package and `lamp dev` lists them at start, one line each time, never silently.
 */

/** One line naming them (the first few), and what it means. */
export function describeDanglingLinks(links: readonly string[], outcome: string): string {
  const shown = links.slice(0, 5).join(", ");
  const more = links.length > 5 ? ` and ${links.length - 5} more` : "";
  return `${links.length} symlink${links.length === 1 ? "" : "s"} in the project point${links.length === 1 ? "s" : ""} to nothing (${shown}${more}): ${outcome}, so in Lambda ${links.length === 1 ? "it does" : "they do"} not exist. Point ${links.length === 1 ? "it" : "them"} at a file in the project, or remove ${links.length === 1 ? "it" : "them"}.`;
}

/** The project's dangling symlinks (relative, `/` separators, sorted); folders named in `ignored` and dot-folders are not entered. */
export async function findDanglingLinks(root: string, ignored: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  const skip = new Set(ignored);
  const walk = async (dir: string, prefix: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: not this check's business
    }
    for (const entry of entries) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.name.startsWith(".") || skip.has(entry.name)) continue;
      if (entry.isSymbolicLink()) {
        // Followed links are not entered: the package walk handles loops; here only the link itself matters.
        if (!(await stat(path.join(dir, entry.name)).catch(() => undefined))) found.push(name);
      } else if (entry.isDirectory()) {
        await walk(path.join(dir, entry.name), name);
      }
    }
  };
  await walk(root, "");
  return found.sort();
}
