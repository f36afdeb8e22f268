import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { BigIntStats, Dirent } from "node:fs";
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
  const walk = new AssetWalk(root, await realFolder(root), exclude, signal, options);
  await walk.visit(walk.tree.root, "", "");
  return walk.tree;
}

/** The folder's real path; a missing folder or a file in its place is the user's to fix. */
async function realFolder(root: string): Promise<string> {
  try {
    const realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) {
      throw new LampError("usage", `The assets folder ${root} is not a folder.`, 'Point --dir (or "assets.dir" in lamp.json) at a folder.');
    }
    return realRoot;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") {
      throw new LampError("not-found", `The assets folder ${root} does not exist.`, 'Create it, or point --dir (or "assets.dir" in lamp.json) at your static files.');
    }
    throw error;
  }
}

/** An entry's name path and its real path (symlinks resolved), both relative to the folder. */
interface EntryPaths {
  relativePath: string;
  absolutePath: string;
  /** Undefined: a symlink whose target is outside the folder. */
  targetPath: string | undefined;
  /** The symlink's resolved target, when the entry is one. */
  target?: string;
}

/** What an entry turned out to be, once symlinks are followed. */
type EntryKind = { kind: "folder" } | { kind: "file"; info: BigIntStats } | { kind: "skip"; reason: SkipReason } | { kind: "done" };

class AssetWalk {
  readonly tree: LocalTree;
  /** Real paths of folders entered, so a link back up the tree cannot loop forever. */
  private readonly entered: Set<string>;

  constructor(
    private readonly root: string,
    realRoot: string,
    private readonly exclude: readonly string[],
    private readonly signal: AbortSignal | undefined,
    private readonly options: WalkOptions,
  ) {
    this.tree = { root: realRoot, files: [], skipped: [], unreadable: [] };
    this.entered = new Set([realRoot]);
  }

  /** `prefix`: the name path of `directory`; `targetPrefix`: its real path, both relative to the folder. */
  async visit(directory: string, prefix: string, targetPrefix: string): Promise<void> {
    if (this.signal?.aborted) throw this.signal.reason;
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true, encoding: "buffer" });
    } catch (error) {
      if (prefix === "") {
        const reason = unreadableReason(error);
        if (reason) throw new LampError("io", `Cannot read the assets folder ${this.root}: ${reason}.`, "Check its permissions, or point --dir (or \"assets.dir\" in lamp.json) at another folder.");
      }
      this.unreadable(prefix, error);
      return;
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      const name = utf8Name(entry.name);
      if (name === undefined) {
        this.tree.unreadable.push({ relativePath: prefix + escapeFileName(entry.name), error: "name is not valid UTF-8" });
        continue;
      }
      await this.visitEntry(entry, directory, prefix, targetPrefix, name);
    }
  }

  private async visitEntry(entry: Dirent<Buffer>, directory: string, prefix: string, targetPrefix: string, name: string): Promise<void> {
    const relativePath = prefix + name;
    if (prefix === "" && this.options.shadowed?.includes(name)) return this.skip(relativePath, "shadowed");
    const paths = await this.resolve(entry, path.join(directory, name), relativePath, targetPrefix + name);
    if (!paths) return;
    const exclusion = publicAssetExclusion(relativePath, paths.targetPath, this.exclude);
    if (exclusion) return this.skip(relativePath, exclusion);
    const found = await this.classify(entry, paths);
    if (found.kind === "folder") await this.visit(paths.absolutePath, `${relativePath}/`, `${paths.targetPath}/`);
    else if (found.kind === "file") this.tree.files.push({ relativePath, absolutePath: paths.absolutePath, size: Number(found.info.size), stamp: stampOf(found.info) });
    else if (found.kind === "skip") this.skip(relativePath, found.reason);
  }

  /** The entry's paths, its symlink followed; undefined when there is nothing to walk (broken link, loop, unreadable). */
  private async resolve(entry: Dirent<Buffer>, absolutePath: string, relativePath: string, targetPath: string): Promise<EntryPaths | undefined> {
    if (!entry.isSymbolicLink()) return { relativePath, absolutePath, targetPath };
    let target: string;
    try {
      target = await realpath(absolutePath);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ELOOP") this.skip(relativePath, "broken-symlink");
      else this.unreadable(relativePath, error);
      return undefined;
    }
    // A link back to the folder itself is a loop, not an escape: already walked.
    if (target === this.tree.root) return undefined;
    return { relativePath, absolutePath, targetPath: pathInsideFolder(this.tree.root, target), target };
  }

  private async classify(entry: Dirent<Buffer>, paths: EntryPaths): Promise<EntryKind> {
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    let info: BigIntStats | undefined;
    let notStatic: ReturnType<typeof staticTypeExclusion>;
    try {
      if (paths.target !== undefined) {
        info = await stat(paths.target, { bigint: true });
        isDirectory = info.isDirectory();
        isFile = info.isFile();
        if (isDirectory) {
          if (this.entered.has(paths.target)) return { kind: "done" };
          this.entered.add(paths.target);
        }
      }
      if (isFile) {
        notStatic = this.options.staticTypesOnly ? staticTypeExclusion(paths.relativePath, paths.targetPath) : undefined;
        // Synchronous for the same reason as readSmallFile: thousands of tiny calls.
        if (!notStatic) info ??= statSync(paths.absolutePath, { bigint: true });
      }
    } catch (error) {
      this.unreadable(paths.relativePath, error);
      return { kind: "done" };
    }
    if (isDirectory) return { kind: "folder" };
    if (isFile && !notStatic && info) return { kind: "file", info };
    return { kind: "skip", reason: notStatic ?? "not-a-file" };
  }

  private skip(relativePath: string, reason: SkipReason): void {
    this.tree.skipped.push({ relativePath, reason });
  }

  private unreadable(relativePath: string, error: unknown): void {
    const reason = unreadableReason(error);
    if (!reason) throw error;
    this.tree.unreadable.push({ relativePath, error: reason });
  }
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
