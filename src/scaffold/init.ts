import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { bundledBrefVersion, loadLayerTable, phpVersions, resolveLayer, type PhpVersion } from "../core/bref-layers.js";
import { defaultConfig, serializeConfig, validateConfig } from "../core/config.js";
import type { Context } from "../core/context.js";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import { bundledCaBundle, caBundleFile } from "../database/ca-bundle.js";
import { stackNameProblem } from "../core/names.js";
import { bundledRouter, effectiveHandler, routerHandler } from "../router/router.js";
import { siteDomain } from "../domain/names.js";
import { findPhpFpm, phpVersionOf } from "../core/php-fpm-binary.js";
import { renderTemplate, type RenderedFile } from "./render.js";
import { bundledConsolePath } from "../console/handler.js";
import { consoleHandler } from "../console/command-line.js";

export interface InitOptions {
  target: string;
  name: string;
  region: string;
  php: string;
  arch: string;
  memory: string;
  force: boolean;
  /** Adds lamp.json's `database` section. */
  database?: boolean;
  /** Router mode (lamp.json "router": true): lamp's router is the handler. */
  router?: boolean;
  /** lamp.json's `domain`: the main name first, then names that redirect to it. */
  domain?: string[];
}

export interface InitResult {
  directory: string;
  stackName: string;
  region: string;
  php: string;
  arch: string;
  memory: number;
  layer: string;
  /** The database's name, when the project has one. */
  database?: string;
  router: boolean;
  /** The custom domain's names, main first. */
  domain?: string[];
  files: string[];
  /** Files that were there before and were replaced (--force), relative to the project. */
  replaced: string[];
}

/** The PHP a new project deploys when --php is not given, when the machine says nothing usable. */
export const fallbackPhpVersion: PhpVersion = "8.4";

/**
 * The PHP a new project deploys by default: the local php-fpm's (else php's) when Bref has a
 * layer for it, so `composer install` and `lamp dev` run the PHP that production will; else 8.4.
 */
export function defaultPhpVersion(env: NodeJS.ProcessEnv): { php: PhpVersion; local?: string } {
  let local: string | undefined;
  try {
    local = phpVersionOf(findPhpFpm(undefined, env));
  } catch {
    local = undefined;
  }
  local ??= phpVersionOf("php");
  const supported = (phpVersions as readonly string[]).includes(local ?? "");
  return { php: supported ? (local as PhpVersion) : fallbackPhpVersion, local };
}

/**
 * A stack name from a folder name: accents dropped (café -> cafe), anything else that is not a
 * letter, digit or hyphen made a hyphen, no leading, trailing or doubled hyphens, a letter first.
 */
export function stackNameFrom(folder: string): string {
  const name = folder
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .replace(/[^A-Za-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[^A-Za-z]+/, "")
    .replace(/-+$/, "")
    .slice(0, 128)
    .replace(/-+$/, "");
  return name || "lamp-app";
}

/** A path as the user can paste it into a POSIX shell: bare when safe, else quoted. */
export function shellQuoted(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  if (!/["$`\\!]/.test(text)) return `"${text}"`;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The folder check, done before anything is asked or computed: a folder with files needs
 * --force, and a path that is a file cannot become a project.
 */
export async function checkTargetFolder(target: string, force: boolean): Promise<string[] | undefined> {
  const entries = await existingEntries(target);
  if (entries && entries.length > 0 && !force) {
    throw new LampError("exists", `${target} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}).`, "Choose an empty folder, or pass --force to write into it (files with the same names are replaced).");
  }
  return entries;
}

/** Why `memory` is not a Lambda memory size, or undefined when it is. */
export function memoryProblem(memory: string): string | undefined {
  const value = Number(memory);
  return /^\d+$/.test(memory.trim()) && value >= 128 && value <= 10_240 ? undefined : "Use a whole number of MB from 128 to 10240, e.g. 1024.";
}

export function parseMemory(memory: string): number {
  const problem = memoryProblem(memory);
  if (problem) throw new LampError("usage", `--memory ${memory} is not a Lambda memory size.`, problem);
  return Number(memory);
}

/** Everything the new project will contain, computed before a single byte is written. */
export async function planProject(options: InitOptions): Promise<{ files: RenderedFile[]; result: Omit<InitResult, "files" | "directory" | "replaced"> }> {
  const problem = stackNameProblem(options.name);
  if (problem) {
    throw new LampError("usage", `Invalid stack name "${options.name}": it ${problem}.`, "Pass --name with letters, digits and hyphens, starting with a letter.");
  }
  const memory = parseMemory(options.memory);
  const domain = options.domain?.length ? siteDomain(options.domain.length === 1 ? options.domain[0]! : { name: options.domain[0]!, aliases: options.domain.slice(1) }, "--domain") : undefined;
  const layer = resolveLayer(await loadLayerTable(options.target), { php: options.php, arch: options.arch, region: options.region });
  const router = Boolean(options.router);
  const config = await validateConfig(
    defaultConfig({
      stackName: options.name,
      region: options.region,
      ...(options.database ? { database: {} } : {}),
      ...(router ? { router } : {}),
      ...(domain ? { domain: domain.aliases.length === 0 ? domain.main : { name: domain.main, aliases: domain.aliases } } : {}),
    }),
    "--region/--name",
  );
  const values = {
    name: options.name,
    packageName: options.name.toLowerCase(),
    region: options.region,
    php: options.php,
    arch: options.arch,
    memory: String(memory),
    layerArn: layer,
    handler: effectiveHandler(config),
    brefVersion: bundledBrefVersion,
    viewerRequestFunction: (await readFile(packagePath("templates", "cloudfront", "viewer-request.js"), "utf8")).trimEnd(),
  };
  const files = await renderTemplate(packagePath("templates", "app"), values);
  files.push({ path: "lamp.json", content: Buffer.from(serializeConfig(config)) });
  if (router) files.push({ path: routerHandler, content: await bundledRouter() });
  // The console function's handler (lamp run, release, schedule): in the project from the start, as deploy would write it.
  files.push({ path: consoleHandler, content: await readFile(bundledConsolePath) });
  if (config.database) files.push({ path: caBundleFile, content: await bundledCaBundle() });
  files.sort((a, b) => a.path.localeCompare(b.path));
  return {
    files,
    result: { stackName: options.name, region: options.region, php: options.php, arch: options.arch, memory, layer, router, ...(config.database ? { database: config.database.name } : {}), ...(domain ? { domain: domain.names } : {}) },
  };
}

async function existingEntries(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    if (errnoCode(error) === "ENOTDIR") throw new LampError("exists", `${dir} is a file, not a folder.`, "Choose another path.");
    throw new LampError("io", `Cannot read ${dir}: ${(error as Error).message}`);
  }
}

/** Moves staged files into place, merging into folders that already exist (only with --force). */
async function moveInto(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const destination = path.join(to, entry.name);
    const existing = await stat(destination).catch(() => undefined);
    if (entry.isDirectory() && existing?.isDirectory()) {
      await moveInto(source, destination);
    } else {
      // Checked before anything moved (see pathConflict); a folder that appeared since is still never deleted.
      if (existing?.isDirectory()) throw folderInTheWay(destination);
      await rename(source, destination);
    }
  }
}

function folderInTheWay(where: string): LampError {
  return new LampError("exists", `${where} is a folder, where lamp init writes a file.`, "Move or rename that folder and run `lamp init --force` again: lamp never deletes a folder.");
}

/**
 * With --force, files replace files, but what lamp init cannot write without deleting something
 * the user did not name (a folder where a file goes, a file where a folder goes) stops it,
 * before anything is written.
 */
async function pathConflict(target: string, files: RenderedFile[]): Promise<LampError | undefined> {
  const checked = new Set<string>();
  for (const file of files) {
    const segments = file.path.split("/");
    for (let depth = 1; depth <= segments.length; depth += 1) {
      const relative = segments.slice(0, depth).join("/");
      if (checked.has(relative)) continue;
      checked.add(relative);
      const existing = await lstat(path.join(target, ...segments.slice(0, depth))).catch(() => undefined);
      if (!existing) break;
      const isLast = depth === segments.length;
      if (isLast && existing.isDirectory()) return folderInTheWay(path.join(target, relative));
      if (!isLast && !existing.isDirectory() && !(existing.isSymbolicLink() && (await stat(path.join(target, relative)).catch(() => undefined))?.isDirectory())) {
        return new LampError("exists", `${path.join(target, relative)} is a file, where lamp init writes the folder ${relative}/.`, "Move or rename that file and run `lamp init --force` again.");
      }
    }
  }
  return undefined;
}

/**
 * Creates the project. Files are written to a staging folder beside the target and moved
 * in at the end, so an error or Ctrl-C leaves the target as it was.
 */
export async function scaffold(options: InitOptions, signal: AbortSignal): Promise<InitResult> {
  const { files, result } = await planProject(options);
  const target = options.target;
  const entries = await checkTargetFolder(target, options.force);
  const replaced: string[] = [];
  if (entries && entries.length > 0) {
    const conflict = await pathConflict(target, files);
    if (conflict) throw conflict;
    for (const file of files) {
      if (await lstat(path.join(target, ...file.path.split("/"))).catch(() => undefined)) replaced.push(file.path);
    }
  }

  const parent = path.dirname(target);
  const staging = path.join(parent, `.lamp-init-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(staging);
  } catch (error) {
    throw new LampError("io", `Cannot create the project in ${parent}: ${errnoCode(error) ?? (error as Error).message}.`, "Choose a folder you can write to.");
  }
  try {
    for (const file of files) {
      signal.throwIfAborted();
      const destination = path.join(staging, ...file.path.split("/"));
      await mkdir(path.dirname(destination), { recursive: true });
      await writeFile(destination, file.content);
    }
    signal.throwIfAborted();
    if (entries === undefined) {
      await rename(staging, target);
    } else {
      await moveInto(staging, target);
    }
  } catch (error) {
    if (error instanceof LampError) throw error;
    if (signal.aborted) throw signal.reason;
    throw new LampError("io", `Cannot write the project to ${target}: ${errnoCode(error) ?? (error as Error).message}.`, "Check the folder's permissions and free space.");
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { directory: target, ...result, files: files.map((file) => file.path), replaced };
}

export async function init(options: InitOptions, ctx: Context): Promise<InitResult> {
  const result = await scaffold(options, ctx.signal);
  const { ui } = ctx;
  const relative = path.relative(ctx.cwd, result.directory) || ".";
  ui.result(result);
  const where = relative === "." ? "the project in this folder" : `${relative}/`;
  ui.success(`Created ${where} for stack ${result.stackName} (PHP ${result.php}, ${result.arch}, ${result.memory} MB, ${result.region}).`);
  if (result.replaced.length > 0) {
    // --force said "replace", not which: the user should know what their own files became.
    ui.warn(`Replaced ${result.replaced.length} existing file${result.replaced.length === 1 ? "" : "s"} with lamp's: ${result.replaced.join(", ")}.`);
  }
  ui.info(ui.colors.dim(`  Bref layer ${result.layer}`));
  if (result.database) ui.info(ui.colors.dim(`  MySQL database "${result.database}": a local MariaDB under lamp dev, Aurora Serverless v2 when deployed (lamp.json \`database\`)`));
  if (result.router) {
    ui.info(ui.colors.dim(`  Router mode: ${routerHandler} runs whichever .php file under public/ the URL names, else public/index.php`));
  }
  if (result.domain) ui.info(ui.colors.dim(`  Domain ${result.domain.join(", ")}: lamp deploy gets its certificate and, with a Route 53 zone, its DNS records (lamp.json \`domain\`)`));
  ui.info("");
  ui.info("Next:");
  if (relative !== ".") ui.info(`  cd ${shellQuoted(relative)}`);
  ui.info("  composer install      # bref/bref and bref/secrets-loader, needed to deploy");
  ui.info("  lamp dev              # run it locally through php-fpm");
  ui.info("  lamp deploy           # ship it to AWS");
  return result;
}
