import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { BigIntStats } from "node:fs";
import { LampError, errnoCode } from "../core/errors.js";
import type { FileStamp } from "./model.js";
import { pathInsideFolder, publicAssetExclusion, staticTypeExclusion, type AssetExclusion, type AssetTargetExclusion } from "./selection.js";

/** A regular file inside the assets folder that may be uploaded. */
export interface LocalFile {
  relativePath: string;
  absolutePath: string;
  size: number;
  stamp: FileStamp;
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

/**
 * A file or folder that should be synced but cannot be: unreadable (permissions), gone since it
 * was listed, or named with bytes that are not UTF-8 (S3 keys are UTF-8). Reported and skipped;
 * the rest still syncs.
 */
export interface UnreadablePath {
  /** Relative to the assets folder; bytes that are not UTF-8 are shown as `\xNN`. A folder ends with `/`. */
  relativePath: string;
  error: string;
}

export interface LocalTree {
  /** The real path of the assets folder (symlinks resolved). */
  root: string;
  files: LocalFile[];
  skipped: SkippedFile[];
  unreadable: UnreadablePath[];
}

/**
 * Why a file system error means the path cannot be read (a short phrase), or undefined when the
 * error is not about the path (then it is a real failure of the run).
 */
export function unreadableReason(error: unknown): string | undefined {
  switch (errnoCode(error)) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOENT":
      return "no longer exists";
    case "ENOTDIR":
    case "EISDIR":
      return "changed type while syncing";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "EIO":
      return "input/output error";
    case "ENAMETOOLONG":
      return "name too long";
    default:
      return undefined;
  }
}

/** A file name's bytes as text: UTF-8 where valid, `\xNN` for every byte that is not. */
export function escapeFileName(name: Buffer): string {
  let text = "";
  let start = 0;
  let offset = 0;
  while (offset < name.length) {
    const byte = name[offset]!;
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    const sequence = length > 0 ? name.subarray(offset, offset + length) : undefined;
    // A sequence is valid when it round-trips (no truncation, continuation bytes, overlongs or surrogates).
    if (sequence && sequence.length === length && Buffer.from(sequence.toString("utf8"), "utf8").equals(sequence)) {
      offset += length;
      continue;
    }
    text += `${name.subarray(start, offset).toString("utf8")}\\x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    offset += 1;
    start = offset;
  }
  return text + name.subarray(start).toString("utf8");
}

/** The name as a string, or undefined when its bytes are not valid UTF-8. */
function utf8Name(name: Buffer): string | undefined {
  const text = name.toString("utf8");
  // Invalid bytes decode to U+FFFD; a real U+FFFD in a name is rare, so check only then.
  if (text.includes("\uFFFD") && !Buffer.from(text, "utf8").equals(name)) return undefined;
  return text;
}

/**
 * Lists the files of the assets folder that may be public. Dotfiles and dot-folders and
 * lamp.json's excludes are skipped (a skipped folder is not entered); a symlink is followed only
 * when its target is inside the folder and public itself, so a link to ~/.ssh, ../.env, .env or
 * an excluded file never gets uploaded. A folder or file that cannot be read, or whose name is
 * not UTF-8, is listed in `unreadable` and the walk goes on.
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

  const tree: LocalTree = { root: realRoot, files: [], skipped: [], unreadable: [] };
  // Real paths of folders entered, so a link back up the tree cannot loop forever.
  const entered = new Set<string>([realRoot]);
  const unreadable = (relativePath: string, error: unknown) => {
    const reason = unreadableReason(error);
    if (!reason) throw error;
    tree.unreadable.push({ relativePath, error: reason });
  };

  /** `prefix`: the name path of `directory`; `targetPrefix`: its real path, both relative to the folder. */
  const visit = async (directory: string, prefix: string, targetPrefix: string): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true, encoding: "buffer" });
    } catch (error) {
      if (prefix === "") {
        const reason = unreadableReason(error);
        if (reason) throw new LampError("io", `Cannot read the assets folder ${root}: ${reason}.`, "Check its permissions, or point --dir (or \"assets.dir\" in lamp.json) at another folder.");
      }
      unreadable(prefix, error);
      return;
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      const name = utf8Name(entry.name);
      if (name === undefined) {
        tree.unreadable.push({ relativePath: prefix + escapeFileName(entry.name), error: "name is not valid UTF-8" });
        continue;
      }
      const relativePath = prefix + name;
      const absolutePath = path.join(directory, name);
      if (prefix === "" && options.shadowed?.includes(name)) {
        tree.skipped.push({ relativePath, reason: "shadowed" });
        continue;
      }
      let targetPath: string | undefined = targetPrefix + name;
      let target: string | undefined;
      if (entry.isSymbolicLink()) {
        try {
          target = await realpath(absolutePath);
        } catch (error) {
          const code = errnoCode(error);
          if (code === "ENOENT" || code === "ELOOP") tree.skipped.push({ relativePath, reason: "broken-symlink" });
          else unreadable(relativePath, error);
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
      let info: BigIntStats | undefined;
      let notStatic: ReturnType<typeof staticTypeExclusion>;
      try {
        if (target !== undefined) {
          info = await stat(target, { bigint: true });
          isDirectory = info.isDirectory();
          isFile = info.isFile();
          if (isDirectory) {
            if (entered.has(target)) continue;
            entered.add(target);
          }
        }
        if (isFile) {
          notStatic = options.staticTypesOnly ? staticTypeExclusion(relativePath, targetPath) : undefined;
          // Synchronous for the same reason as readSmallFile: thousands of tiny calls.
          if (!notStatic) info ??= statSync(absolutePath, { bigint: true });
        }
      } catch (error) {
        unreadable(relativePath, error);
        continue;
      }
      if (isDirectory) {
        await visit(absolutePath, `${relativePath}/`, `${targetPath}/`);
      } else if (isFile) {
        if (notStatic || !info) {
          tree.skipped.push({ relativePath, reason: notStatic ?? "not-a-file" });
          continue;
        }
        tree.files.push({ relativePath, absolutePath, size: Number(info.size), stamp: stampOf(info) });
      } else {
        tree.skipped.push({ relativePath, reason: "not-a-file" });
      }
    }
  };
  await visit(realRoot, "", "");
  return tree;
}

function stampOf(info: BigIntStats): FileStamp {
  return { size: Number(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs), ino: String(info.ino) };
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
