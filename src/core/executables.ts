import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/** Where distributions and Homebrew put daemons that are not on a user's PATH (php-fpm, mariadbd). */
export const sbinDirectories = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/homebrew/sbin", "/usr/local/opt/php/sbin"];

export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first of `names` found in PATH, then in `directories`, in that order of folders; undefined if none. */
export function findExecutable(names: readonly string[], env: NodeJS.ProcessEnv, directories: readonly string[] = sbinDirectories): string | undefined {
  const searched = [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...directories];
  for (const directory of searched) {
    for (const name of names) {
      const candidate = path.join(directory, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}
