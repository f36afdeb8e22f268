import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";
import { pathInsideFolder, publicAssetExclusion, staticTypeExclusion, type AssetExclusion, type AssetTargetExclusion } from "./selection.js";

/** A regular file inside the assets folder that may be uploaded. */
export interface LocalFile {
  relativePath: string;
  absolutePath: string;
  size: number;
}

export type SkipReason = AssetExclusion | AssetTargetExclusion | "broken-symlink" | "not-a-file" | "not-a-static-type" | "shadowed";

/** How the document root is walked, unlike the assets folder. */
export interface WalkOptions {
  /** Only allow-listed static types (selection.ts `staticExtensions`), judged by name and symlink target. */
  staticTypesOnly?: boolean;
  /** Top-level names another URL space owns (the document root's `assets/`, shadowed by /assets/*). */
  shadowed?: readonly string[];
}

export interface SkippedFile {
  relativePath: string;
  reason: SkipReason;
}

export interface LocalTree {
  files: LocalFile[];
  skipped: SkippedFile[];
}

/**
 * Lists the files of the assets folder that may be public. Dotfiles and dot-folders and
 * lamp.json's excludes are skipped (a skipped folder is not entered); a symlink is followed only
 * when its target is inside the folder and public itself, so a link to ~/.ssh, ../.env, .env or
 * an excluded file never gets uploaded.
 */
export async function walkAssets(root: string, exclude: readonly string[] = [], signal?: AbortSignal, options: WalkOptions = {}): Promise<LocalTree> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) {
      throw new LampError("usage", `The assets folder ${root} is not a folder.`, 'Point --dir (or "assets.dir" in lamp.json) at a folder.');
    }
  } catch (error) {
    if (errnoCode(error) === "ENOENT") {
      throw new LampError("not-found", `The assets folder ${root} does not exist.`, 'Create it, or point --dir (or "assets.dir" in lamp.json) at your static files.');
    }
    throw error;
  }

  const tree: LocalTree = { files: [], skipped: [] };
  // Real paths of folders entered, so a link back up the tree cannot loop forever.
  const entered = new Set<string>([realRoot]);

  /** `prefix`: the name path of `directory`; `targetPrefix`: its real path, both relative to the folder. */
  const visit = async (directory: string, prefix: string, targetPrefix: string): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relativePath = prefix + entry.name;
      const absolutePath = path.join(directory, entry.name);
      if (prefix === "" && options.shadowed?.includes(entry.name)) {
        tree.skipped.push({ relativePath, reason: "shadowed" });
        continue;
      }
      let targetPath: string | undefined = targetPrefix + entry.name;
      let target: string | undefined;
      if (entry.isSymbolicLink()) {
        try {
          target = await realpath(absolutePath);
        } catch {
          tree.skipped.push({ relativePath, reason: "broken-symlink" });
          continue;
        }
        // A link back to the folder itself is a loop, not an escape: already walked.
        if (target === realRoot) continue;
        targetPath = pathInsideFolder(realRoot, target);
      }
      const exclusion = publicAssetExclusion(relativePath, targetPath, exclude);
      if (exclusion) {
        tree.skipped.push({ relativePath, reason: exclusion });
        continue;
      }
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      let size: number | undefined;
      if (target !== undefined) {
        const info = await stat(target);
        isDirectory = info.isDirectory();
        isFile = info.isFile();
        size = info.size;
        if (isDirectory) {
          if (entered.has(target)) continue;
          entered.add(target);
        }
      }
      if (isDirectory) {
        await visit(absolutePath, `${relativePath}/`, `${targetPath}/`);
      } else if (isFile) {
        const notStatic = options.staticTypesOnly ? staticTypeExclusion(relativePath, targetPath) : undefined;
        if (notStatic) {
          tree.skipped.push({ relativePath, reason: notStatic });
          continue;
        }
        // Synchronous for the same reason as readSmallFile: thousands of tiny calls.
        size ??= statSync(absolutePath).size;
        tree.files.push({ relativePath, absolutePath, size });
      } else {
        tree.skipped.push({ relativePath, reason: "not-a-file" });
      }
    }
  };
  await visit(realRoot, "", "");
  return tree;
}

/** Files up to this size are read in one go: cheaper than a stream, and small enough to hold. */
export const wholeReadLimit = 1024 * 1024;

/**
 * Reads a small file whole. Synchronously on purpose: for the thousands of small files of a
 * typical assets folder, one blocking read (tens of microseconds) is about three times cheaper
 * than the promise API's open/stat/read/close round trips through the thread pool.
 */
export function readSmallFile(absolutePath: string, signal?: AbortSignal): Buffer {
  if (signal?.aborted) throw signal.reason;
  return readFileSync(absolutePath);
}

/** SHA-256 of a file, hex. Large files are streamed, never held in memory whole. */
export async function sha256OfFile(absolutePath: string, size: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  if (size <= wholeReadLimit) {
    hash.update(readSmallFile(absolutePath, signal));
    return hash.digest("hex");
  }
  for await (const chunk of createReadStream(absolutePath, { highWaterMark: 1024 * 1024, signal })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}
