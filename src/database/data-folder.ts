import { createHash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync, rmSync, statSync, statfsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";

/**
 * The safety of a project's local database folder: one lamp at a time per folder (a lock), leftovers
 * of an interrupted install or run removed (only lamp's own, only when nothing uses them), a folder
 * that may hold tables never deleted, and a full disk named as such.
 */

/** Held while a lamp process owns the project's database folder; released when it ends in any way. */
export interface DataFolderLock {
  release(): Promise<void>;
}

/**
 * Takes the folder's lock: a listening unix socket. On Linux it lives in the abstract namespace
 * (no file; the kernel drops it the moment its process dies, even by SIGKILL); elsewhere it is a
 * socket file in the folder, taken over when nothing answers on it. Whoever holds it answers a
 * connection with its process id, so a second lamp names the first at once.
 */
export async function lockDataFolder(directory: string): Promise<DataFolderLock> {
  const address = lockAddress(directory);
  for (let attempt = 1; ; attempt++) {
    const server = net.createServer((socket) => socket.end(`${process.pid}\n`));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(address, () => resolve());
      });
      // The lock must not keep a finished lamp alive.
      server.unref();
      return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    } catch (error) {
      if (errnoCode(error) !== "EADDRINUSE") throw new LampError("io", `Cannot lock ${directory}: ${(error as Error).message}`);
      const holder = await askHolder(address);
      if (holder === undefined && !address.startsWith("\0") && attempt === 1) {
        // A socket file whose lamp died: nothing listens on it any more.
        rmSync(address, { force: true });
        continue;
      }
      throw new LampError(
        "exists",
        `This project's local database is in use by another lamp${holder ? ` (process ${holder})` : ""}: is \`lamp dev\` or \`lamp db\` already running in this project?`,
        "Stop the other one first, or run `lamp db` while `lamp dev` runs (it uses that server): one server per data folder.",
      );
    }
  }
}

function lockAddress(directory: string): string {
  let real = path.resolve(directory);
  try {
    real = realpathSync(real);
  } catch {
    // Not made yet: its resolved path names it.
  }
  if (process.platform === "linux") return `\0serverless-lamp-db-${createHash("sha256").update(real).digest("hex").slice(0, 40)}`;
  return path.join(directory, "lock.sock");
}

/** The holder's process id, or undefined when nothing answers. */
function askHolder(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let answer = "";
    const socket = net.connect(address);
    socket.setTimeout(2000, () => socket.destroy());
    socket.setEncoding("utf8").on("data", (text: string) => (answer += text));
    socket.once("error", () => resolve(undefined));
    socket.once("close", () => resolve(/^\d+$/.test(answer.trim()) ? answer.trim() : "")); // "" = alive but silent
  });
}

/** The names in a folder; none when it cannot be read (gone, or not ours). */
function namesIn(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

/** Process ids whose command line mentions `fragment` (Linux: /proc; elsewhere none can be told). */
function processesMentioning(fragment: string): number[] {
  const entries = namesIn("/proc").filter((name) => /^\d+$/.test(name));
  const found: number[] = [];
  for (const pid of entries) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(fragment)) found.push(Number(pid));
    } catch {
      // Ended meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Staging folders of lamp's own (see initialiseDataDirectory, localCertificates): `data.partial-1a2b3c4d`. */
const stagingName = /^(data|tls)\.partial-[0-9a-f]{8}$/;

/**
 * Removes what an interrupted first start left in the project's database folder: the staging
 * folders of an install or certificate that never finished (a SIGKILL, a power cut). Called with the
 * lock held, so no other lamp is making one; one still being written by an orphaned installer (its
 * lamp killed) is left for the next start.
 */
export function removeInterruptedInstalls(directory: string): string[] {
  const removed: string[] = [];
  for (const name of namesIn(directory).filter((entry) => stagingName.test(entry))) {
    const staging = path.join(directory, name);
    if (processesMentioning(staging).length > 0) continue;
    rmSync(staging, { recursive: true, force: true });
    removed.push(staging);
  }
  return removed;
}

/** The per-run temp folders lamp makes: `lamp-db-run-<pid>-XXXXXX`, `lamp-db-install-<pid>-XXXXXX`. */
export function runFolderPrefix(kind: "run" | "install"): string {
  return path.join(os.tmpdir(), `lamp-db-${kind}-${process.pid}-`);
}

const runFolderName = /^lamp-db-(?:run|install)-(\d+)-[A-Za-z0-9]{6}$/;
/** What earlier versions named a run's folder (no owner in the name): removed only when empty and old. */
const legacyRunFolderName = /^lamp-db-[A-Za-z0-9]{6}$/;

/** Whether a process runs: a zombie (ended, not yet reaped by a parent that may never do it) does not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/**
 * Removes the temp folders of lamp runs that ended without cleaning up (SIGKILL): only lamp's own
 * names, only this user's, only when the lamp that made one is gone and no process (an orphaned
 * server shutting down) still names it.
 */
export function removeStaleRunFolders(now = Date.now()): string[] {
  const temp = os.tmpdir();
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const name of namesIn(temp)) {
    const owner = runFolderName.exec(name);
    if (!owner && !legacyRunFolderName.test(name)) continue;
    const folder = path.join(temp, name);
    try {
      const info = statSync(folder);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      if (owner ? isAlive(Number(owner[1])) : readdirSync(folder).length > 0 || now - info.mtimeMs < 60_000) continue;
      if (processesMentioning(folder).length > 0) continue;
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // Gone meanwhile, or not readable: not ours to touch.
    }
  }
  return removed;
}

/** What MariaDB needs to create a new data folder (its system tables and InnoDB's first files), with room to spare. */
export const installBytes = 160 * 1_048_576;

/** Free bytes for this user on the file system holding `directory`, if it can be told. */
export function freeBytes(directory: string): number | undefined {
  try {
    const info = statfsSync(directory);
    return info.bavail * info.bsize;
  } catch {
    return undefined;
  }
}

/** A full disk, named as one: what MariaDB says then ("Unknown/unsupported storage engine: InnoDB") does not. */
export function diskFullError(directory: string, free: number, needed?: number): LampError {
  const megabytes = (bytes: number) => `${Math.floor(bytes / 1_048_576)} MB`;
  return new LampError(
    "io",
    `The disk holding ${directory} is full (${megabytes(free)} free${needed ? `; a new local database needs about ${megabytes(needed)}` : ""}).`,
    "Free some space on that disk, then run again.",
  );
}

/** Whether a server's failure to start reads as a full disk: its own words, or what is left on the disk. */
export function looksLikeDiskFull(logLines: readonly string[], directory: string): number | undefined {
  const free = freeBytes(directory);
  const said = logLines.some((line) => /No space left on device|errno:? 28\b|OS error:? 28\b|disk is full|Disk got full/i.test(line));
  if (free === undefined) return said ? 0 : undefined;
  return said || free < 16 * 1_048_576 ? free : undefined;
}
