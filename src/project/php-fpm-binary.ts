import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { LampError } from "../core/errors.js";
import { isExecutableFile, sbinDirectories } from "../core/executables.js";

/**
 * The local php-fpm and its PHP version: what `lamp dev` runs and what `lamp init` takes as a new
 * project's default PHP, so both find the same binary (Debian: /usr/sbin/php-fpm8.2).
 */

const fpmName = /^php-fpm(\d+(?:\.\d+)?)?$/;

/** A plain `php-fpm` (the distribution's default) first, then the newest php-fpmX.Y. */
function compareFpmNames(a: string, b: string): number {
  if (a === "php-fpm" || b === "php-fpm") return a === b ? 0 : a === "php-fpm" ? -1 : 1;
  const version = (name: string) => fpmName.exec(name)![1]!.split(".").map(Number);
  const [va, vb] = [version(a), version(b)];
  for (let index = 0; index < Math.max(va.length, vb.length); index++) {
    const difference = (vb[index] ?? 0) - (va[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Finds php-fpm: the explicit path if given, else `php-fpm` or `php-fpmX.Y` on PATH, else in the
 * sbin directories. Throws a LampError naming the package to install.
 */
export function findPhpFpm(explicit: string | undefined, env: NodeJS.ProcessEnv, directories = sbinDirectories): string {
  if (explicit) {
    if (!isExecutableFile(explicit)) {
      throw new LampError("dependency", `--php-fpm ${explicit}: no executable file there.`, "Pass the path of a php-fpm binary, e.g. /usr/sbin/php-fpm8.2, or leave --php-fpm out to search PATH.");
    }
    return path.resolve(explicit);
  }
  const searched = [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...directories];
  for (const directory of searched) {
    let names: string[];
    try {
      names = readdirSync(directory).filter((name) => fpmName.test(name));
    } catch {
      continue;
    }
    for (const name of names.sort(compareFpmNames)) {
      const candidate = path.join(directory, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  throw new LampError(
    "dependency",
    `php-fpm was not found on PATH or in ${directories.slice(0, 2).join(", ")}: \`lamp dev\` runs your code with a real php-fpm, as Bref does in Lambda.`,
    "Install it — Debian/Ubuntu: `sudo apt-get install php-fpm`; macOS: `brew install php` — or pass --php-fpm /path/to/php-fpm.",
  );
}

/** "8.2" for a php-fpm 8.2 binary, from `php-fpm -v`; undefined when it cannot be told. */
export function phpVersionOf(binary: string): string | undefined {
  const result = spawnSync(binary, ["-v"], { encoding: "utf8", timeout: 5_000 });
  return result.stdout?.match(/^PHP (\d+\.\d+)\./)?.[1];
}
