import { createHash } from "node:crypto";
import { once } from "node:events";
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import picomatch from "picomatch";
import { LampError, errnoCode } from "../core/errors.js";
import { centralHeader, crc32, dataDescriptor, deflate, deflateLevel, endOfCentralDirectory, localHeader, maxEntries, maxOffset, type ZipEntry } from "./zip.js";

/**
 * The Lambda code package: a deterministic zip of the project. Same files -> same bytes -> same
 * hash, whatever the mtimes, the umask, the time zone or the order readdir returns.
 */

/** Lambda's limits on a function's code (docs: "Lambda quotas"). */
export const unzippedSizeLimit = 250 * 1024 * 1024;

export interface PackageRules {
  /** The assets folder (lamp.json assets.dir): served from S3, never from Lambda. */
  assetsDir: string;
  /** lamp.json package.exclude: globs relative to the project root. */
  exclude: readonly string[];
}

export interface PackageFile {
  /** Path inside the zip, `/`-separated. */
  name: string;
  absolutePath: string;
  size: number;
  executable: boolean;
}

export interface CodePackage {
  zipPath: string;
  sha256: string;
  /** Bytes of the zip. */
  size: number;
  /** Bytes of the files in it. */
  unzippedSize: number;
  files: number;
  /** Symlinks whose target does not exist (left out: Lambda would not have them either), relative to the root. */
  danglingLinks: string[];
}

/** Folders that never belong in the package, at the project's top level. */
const rootOnlyExclusions = ["tests"];
/** Folders that never belong in the package, wherever they are. */
const anywhereExclusions = new Set(["node_modules"]);

/** Why `name` (a path relative to the root) stays out of the package, or undefined to include it. */
export function packageExclusion(name: string, rules: PackageRules, matchers = excludeMatchers(rules)): string | undefined {
  const segments = name.split("/");
  if (segments.some((segment) => segment.startsWith("."))) return "dotfile";
  if (segments.some((segment) => anywhereExclusions.has(segment))) return "node_modules";
  const assets = normalizeDir(rules.assetsDir);
  if (assets && (name === assets || name.startsWith(`${assets}/`))) return "assets";
  if (rootOnlyExclusions.includes(segments[0]!)) return "tests";
  for (let depth = 1; depth <= segments.length; depth += 1) {
    const prefix = segments.slice(0, depth).join("/");
    if (matchers.some((matches) => matches(prefix))) return "excluded";
  }
  return undefined;
}

function normalizeDir(dir: string): string {
  return path.posix.normalize(dir.replaceAll("\\", "/")).replace(/^\.\/?/, "").replace(/\/+$/, "");
}

function excludeMatchers(rules: PackageRules): ((name: string) => boolean)[] {
  return rules.exclude.map((pattern) => picomatch(pattern.replace(/^\.\//, "").replace(/\/+$/, ""), { dot: true }));
}

/**
 * Every file that goes into the package, sorted by name. Excluded folders are not even entered.
 * Synchronous on purpose: for 10,000+ small files, a promise round trip per stat costs more
 * than the stat, and nothing else runs while a deploy packages.
 */
export function listPackageFiles(root: string, rules: PackageRules, danglingLinks: string[] = []): PackageFile[] {
  const matchers = excludeMatchers(rules);
  const files: PackageFile[] = [];
  const seenDirs = new Set<string>([realpathSync(root)]);

  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (packageExclusion(name, rules, matchers)) continue;
      const absolutePath = path.join(dir, entry.name);
      let info = entry.isSymbolicLink() ? statSync(absolutePath, { throwIfNoEntry: false }) : undefined;
      if (entry.isSymbolicLink() && !info) {
        danglingLinks.push(name); // nothing to package: named to the user once
        continue;
      }
      if (entry.isDirectory() || info?.isDirectory()) {
        // Composer path repositories are symlinks: follow them, but never around a loop.
        const real = realpathSync(absolutePath);
        if (seenDirs.has(real)) continue;
        seenDirs.add(real);
        walk(absolutePath, name);
        continue;
      }
      info ??= lstatSync(absolutePath);
      if (!info.isFile()) continue; // sockets, fifos
      files.push({ name, absolutePath, size: info.size, executable: (info.mode & 0o111) !== 0 });
    }
  };

  walk(root, "");
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The largest folders (depth 1 and 2), for a size-limit message that says where to look. */
export function largestFolders(files: readonly PackageFile[], count = 5): { folder: string; size: number }[] {
  const sizes = new Map<string, number>();
  for (const file of files) {
    const segments = file.name.split("/");
    for (let depth = 1; depth < segments.length && depth <= 2; depth += 1) {
      const folder = segments.slice(0, depth).join("/");
      sizes.set(folder, (sizes.get(folder) ?? 0) + file.size);
    }
  }
  return [...sizes.entries()]
    .map(([folder, size]) => ({ folder, size }))
    .sort((a, b) => b.size - a.size || a.folder.localeCompare(b.folder))
    .slice(0, count);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function limitError(what: string, size: number, limit: number, files: readonly PackageFile[]): LampError {
  const folders = largestFolders(files)
    .map(({ folder, size: bytes }) => `${folder}/ ${formatBytes(bytes)}`)
    .join(", ");
  return new LampError(
    "limit",
    `The code package is ${formatBytes(size)} ${what}; Lambda allows ${formatBytes(limit)}. Largest folders: ${folders}.`,
    'Run `composer install --no-dev --optimize-autoloader`, and leave out what PHP does not need with "package.exclude" in lamp.json.',
  );
}

const fileMode = 0o100644;
const executableMode = 0o100755;
/** Files smaller than this are read whole and deflated in one call; larger ones are streamed. */
const smallFileSize = 4 * 1024 * 1024;
/** Output is written in chunks of about this size. */
const writeChunk = 1024 * 1024;

/** Appends to a file in large chunks, hashing and counting what it writes. */
class ZipOutput {
  readonly hash = createHash("sha256");
  offset = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<ZipOutput> {
    return new ZipOutput(await open(file, "w"));
  }

  async write(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.offset += data.length;
    this.chunks.push(data);
    this.buffered += data.length;
    if (this.buffered >= writeChunk) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    await this.handle.write(data);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Writes the zip to `zipPath`, hashing it as it is written: entries in the given (sorted) order,
 * small files read and deflated whole, large ones streamed. Memory holds one small file and one
 * write chunk, never the whole package.
 */
async function writeZip(files: readonly PackageFile[], zipPath: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  if (files.length > maxEntries) {
    throw new LampError("limit", `The code package would hold ${files.length} files; lamp's zip writer handles at most ${maxEntries}.`, 'Leave out what PHP does not need with "package.exclude" in lamp.json.');
  }
  const output = await ZipOutput.create(zipPath);
  try {
    const entries: ZipEntry[] = [];
    for (const [index, file] of files.entries()) {
      // Let Ctrl-C and the spinner in now and then: reading and deflating below are synchronous.
      if (index % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      const mode = file.executable ? executableMode : fileMode;
      if (file.size < smallFileSize) {
        const content = readFileSync(file.absolutePath);
        const compressed = deflate(content);
        const entry: ZipEntry = { name: file.name, mode, crc32: crc32(content), compressedSize: compressed.length, size: content.length, offset: output.offset, streamed: false };
        await output.write(localHeader(entry));
        await output.write(compressed);
        entries.push(entry);
      } else {
        entries.push(await writeStreamedEntry(output, file, mode, signal));
      }
      if (output.offset > maxOffset) throw new LampError("limit", "The code package is over 4 GB.", "Lambda allows 250 MB unzipped.");
    }
    const directoryOffset = output.offset;
    for (const entry of entries) await output.write(centralHeader(entry));
    await output.write(endOfCentralDirectory(entries.length, output.offset - directoryOffset, directoryOffset));
    await output.flush();
    return { sha256: output.hash.digest("hex"), size: output.offset };
  } finally {
    await output.close();
  }
}

/** A large file: header first, then deflated chunks as they are read, sizes and CRC after the data. */
async function writeStreamedEntry(output: ZipOutput, file: PackageFile, mode: number, signal?: AbortSignal): Promise<ZipEntry> {
  const entry: ZipEntry = { name: file.name, mode, crc32: 0, compressedSize: 0, size: 0, offset: output.offset, streamed: true };
  await output.write(localHeader(entry));
  const deflater = zlib.createDeflateRaw({ level: deflateLevel });
  const compressed = (async () => {
    for await (const chunk of deflater) {
      entry.compressedSize += (chunk as Buffer).length;
      await output.write(chunk as Buffer);
    }
  })();
  const handle = await open(file.absolutePath, "r");
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false, signal })) {
      const data = chunk as Buffer;
      entry.crc32 = crc32(data, entry.crc32);
      entry.size += data.length;
      if (!deflater.write(data)) await once(deflater, "drain");
    }
    deflater.end();
    await compressed;
  } catch (error) {
    deflater.destroy();
    await compressed.catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
  await output.write(dataDescriptor(entry));
  return entry;
}

/** Lists, checks the unzipped limit, zips. */
export async function buildCodePackage(root: string, rules: PackageRules, zipPath: string, signal?: AbortSignal): Promise<CodePackage> {
  let files: PackageFile[];
  const danglingLinks: string[] = [];
  try {
    files = listPackageFiles(root, rules, danglingLinks);
  } catch (error) {
    throw new LampError("io", `Cannot read the project at ${root}: ${(error as Error).message}`, errnoCode(error) === "EACCES" ? "Check the folder's permissions." : undefined);
  }
  if (files.length === 0) throw new LampError("config", `Nothing to package in ${root}.`, "Check lamp.json's package.exclude.");
  const unzippedSize = files.reduce((total, file) => total + file.size, 0);
  if (unzippedSize > unzippedSizeLimit) throw limitError("unzipped", unzippedSize, unzippedSizeLimit, files);
  let zipped: { sha256: string; size: number };
  try {
    zipped = await writeZip(files, zipPath, signal);
  } catch (error) {
    if (signal?.aborted || error instanceof LampError) throw error;
    throw new LampError("io", `Cannot write the code package: ${(error as Error).message}`, "Did a file change while packaging? Run the deploy again.");
  }
  const { sha256, size } = zipped;
  // No check against Lambda's 50 MB zipped limit: it applies to direct uploads only, and lamp
  // deploys code from S3, where the 250 MB unzipped limit above is the one that holds.
  return { zipPath, sha256, size, unzippedSize, files: files.length, danglingLinks: danglingLinks.sort() };
}
