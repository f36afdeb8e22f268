import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { LampError } from "../core/errors.js";
import { brefExtensions, brefOptionalExtensions } from "../project/php-extensions.js";
import { cachedProbe, fileIdentity } from "./probe-cache.js";

const execFileAsync = promisify(execFile);

/**
 * The local PHP with exactly the extensions of Bref's layer (plus lamp.json's php.extensions):
 * the distribution's ini folder (Debian: /etc/php/8.x/fpm/conf.d, Homebrew: .../etc/php/8.x/conf.d)
 * is not scanned; lamp scans a folder of its own holding the distribution's ini files for the
 * extensions Lambda has, and no others. Extensions compiled into the binary cannot be left out.
 */

export interface LocalPhpBuild {
  /** The folder the binary scans for .ini files by default, if any. */
  scanDir?: string;
  /** Modules compiled in (listed with no ini file at all), lower case. */
  builtIn: Set<string>;
  /** Its PHP version, major.minor ("8.3"). */
  version?: string;
}

interface StoredBuild {
  scanDir?: string;
  builtIn: string[];
  version?: string;
}

function isStoredBuild(value: unknown): value is StoredBuild {
  const build = value as StoredBuild;
  return (
    typeof build === "object" && build !== null && Array.isArray(build.builtIn) && build.builtIn.every((name) => typeof name === "string") &&
    (build.scanDir === undefined || typeof build.scanDir === "string") && (build.version === undefined || typeof build.version === "string")
  );
}

/**
 * What the local php-fpm binary is made of: two quick runs of it, in parallel, or what they said
 * last time for the same binary file (same path, size, mtime and inode), kept in `cacheFile`.
 */
export async function localPhpBuild(binary: string, cacheFile?: string): Promise<LocalPhpBuild> {
  const stored = await cachedProbe(cacheFile, `php-build ${binary}`, fileIdentity(binary), () => probePhpBuild(binary), isStoredBuild);
  return { ...(stored.scanDir ? { scanDir: stored.scanDir } : {}), builtIn: new Set(stored.builtIn), ...(stored.version ? { version: stored.version } : {}) };
}

async function probePhpBuild(binary: string): Promise<StoredBuild> {
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
  const [info, modules] = await Promise.all([
    execFileAsync(binary, ["-i"], { env, maxBuffer: 8 * 1024 * 1024 }).then((out) => out.stdout, () => ""),
    execFileAsync(binary, ["-n", "-m"], { env }).then((out) => out.stdout, () => ""),
  ]);
  const scan = /^Scan this dir for additional \.ini files => (.+)$/m.exec(info)?.[1]?.trim();
  const version = /^PHP Version => (\d+\.\d+)\./m.exec(info)?.[1];
  return {
    ...(scan && scan !== "(none)" ? { scanDir: scan.split(path.delimiter)[0] } : {}),
    builtIn: moduleNames(modules),
    ...(version ? { version } : {}),
  };
}

/** `php -m` output -> ini names, lower case ("Zend OPcache" is opcache). */
export function moduleNames(output: string): string[] {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("[") && line !== "cgi-fcgi")
    .map((name) => (name === "Zend OPcache" ? "opcache" : name.toLowerCase()));
}

/** The extensions an ini file loads: `extension=gd.so`, `zend_extension=opcache`, `extension="/path/php_intl.so"`. */
export function extensionsOfIni(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/^\s*(?:zend_)?extension\s*=\s*["']?([^"'\s;]+)/gm)) {
    names.push(path.basename(match[1]!).replace(/\.(so|dll)$/, "").replace(/^php_/, "").toLowerCase());
  }
  return names;
}

export interface ExtensionSelection {
  /** The distribution's ini files to load, in scan order (absolute paths). */
  iniFiles: string[];
  /** Bref's default extensions the local PHP lacks (a warning: code using them fails here, not there). */
  missing: string[];
  /** Extensions compiled into the local PHP that Lambda does not have (cannot be unloaded). */
  extraBuiltIn: string[];
}

/**
 * Which of the distribution's ini files to load. An extension of lamp.json's php.extensions that
 * the local PHP does not have is an error naming the package to install.
 */
export async function selectExtensions(build: LocalPhpBuild, requested: readonly string[], phpVersion: string | undefined): Promise<ExtensionSelection> {
  // Bref's optional extensions are turned on by php/conf.d/lamp-extensions.ini (the project's, as in Lambda).
  const allowed = new Set([...brefExtensions, ...requested.filter((name) => !brefOptionalExtensions.includes(name))]);
  const available = new Set(build.builtIn);
  const iniFiles: string[] = [];
  if (build.scanDir) {
    let entries: string[] = [];
    try {
      entries = (await readdir(build.scanDir)).filter((name) => name.endsWith(".ini")).sort();
    } catch {
      // No such folder: the binary loads nothing beyond its built-in modules.
    }
    for (const name of entries) {
      const file = path.join(build.scanDir, name);
      const loads = extensionsOfIni(await readFile(file, "utf8").catch(() => ""));
      for (const extension of loads) available.add(extension);
      if (loads.every((extension) => allowed.has(extension))) iniFiles.push(file);
    }
  }
  const absent = requested.filter((name) => !available.has(name));
  if (absent.length > 0) {
    const version = phpVersion ?? "8.x";
    throw new LampError(
      "dependency",
      `lamp.json's php.extensions asks for ${absent.join(", ")}, which the local PHP ${version} does not have, so lamp dev cannot load ${absent.length > 1 ? "them" : "it"}.`,
      `Install ${absent.map((name) => `php${version}-${debianPackageOf(name)}`).join(" ")} (Debian/Ubuntu: sudo apt-get install …; Homebrew: \`pecl install ${absent.join(" ")}\`, or brew's php for gd, intl, soap).`,
    );
  }
  return {
    iniFiles,
    missing: brefExtensions.filter((name) => !available.has(name) && !notReportedMissing.has(name)),
    extraBuiltIn: [...build.builtIn].filter((name) => !allowed.has(name) && !brefOptionalExtensions.includes(name)).sort(),
  };
}

/** Modules of Bref's list that some PHP builds fold into others, or that PHP 8.2+ always has. */
const notReportedMissing = new Set(["json", "random", "readline", "ffi", "pcntl"]);

/** Debian's package for an extension (php8.x-<this>). */
function debianPackageOf(extension: string): string {
  if (extension === "calendar") return "common";
  if (extension === "pdo_pgsql") return "pgsql";
  return extension;
}
