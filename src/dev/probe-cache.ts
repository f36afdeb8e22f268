import { mkdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Facts about this machine that `lamp dev` would otherwise find out by running programs at every
 * start (what the local php-fpm is built with, whether user namespaces work), kept in the
 * project's `.lamp/dev-probes.json`. Each fact is stored with the key it was found under — what it
 * depends on, such as the binary's size, mtime and inode — and found out again when the key
 * differs. The file is lamp's own: unreadable or unwritable, it is simply not used.
 */

type Entries = Record<string, { key: string; value: unknown }>;

function readEntries(file: string): Entries {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Entries) : {};
  } catch {
    return {};
  }
}

function writeEntry(file: string, name: string, key: string, value: unknown): void {
  try {
    const entries = readEntries(file);
    entries[name] = { key, value };
    mkdirSync(path.dirname(file), { recursive: true });
    // Written aside and renamed: two lamp processes never leave a half-written file.
    const aside = `${file}.${process.pid}.tmp`;
    writeFileSync(aside, `${JSON.stringify(entries, null, 2)}\n`);
    renameSync(aside, file);
  } catch {
    // A read-only project or a full disk: the fact is found out again next time.
  }
}

/** The stored value of `name` when it was found under `key`, else `find()`'s (then stored). */
export async function cachedProbe<T>(file: string | undefined, name: string, key: string | undefined, find: () => Promise<T> | T, valid: (value: unknown) => value is T): Promise<T> {
  if (file === undefined || key === undefined) return find();
  const entry = readEntries(file)[name];
  if (entry && entry.key === key && valid(entry.value)) return entry.value;
  const value = await find();
  writeEntry(file, name, key, value);
  return value;
}

/** The project's probe file. */
export function probeFile(root: string): string {
  return path.join(root, ".lamp", "dev-probes.json");
}

/** A file's identity: changes when the file is replaced or rewritten (an upgrade of the package). */
export function fileIdentity(file: string): string | undefined {
  try {
    const stat = statSync(file);
    return JSON.stringify([path.resolve(file), stat.size, stat.mtimeMs, stat.ino, stat.dev]);
  } catch {
    return undefined;
  }
}

/** Reads a small system file, or "" when it does not exist. */
function systemValue(file: string, link = false): string {
  try {
    return link ? readlinkSync(file) : readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * What decides whether unprivileged user and mount namespaces work, as of this boot: the boot, the
 * user, the namespaces lamp runs in (a container has its own) and the kernel's switches for them
 * (Debian's unprivileged_userns_clone, max_user_namespaces, Ubuntu's AppArmor restriction).
 * Undefined where there is no /proc to tell (not Linux): nothing is stored then.
 */
export function namespaceSupportKey(): string | undefined {
  const bootId = systemValue("/proc/sys/kernel/random/boot_id");
  if (!bootId) return undefined;
  return JSON.stringify([
    bootId,
    process.getuid?.(),
    systemValue("/proc/self/ns/user", true),
    systemValue("/proc/self/ns/mnt", true),
    systemValue("/proc/sys/kernel/unprivileged_userns_clone"),
    systemValue("/proc/sys/user/max_user_namespaces"),
    systemValue("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
  ]);
}
