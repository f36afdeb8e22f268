import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { bundledBrefVersion, loadLayerTable, phpVersions, resolveLayer, type PhpVersion } from "../project/bref-layers.js";
import { defaultConfig, serializeConfig, validateConfig } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import { bundledCaBundle, caBundleFile } from "../database/ca-bundle.js";
import { stackNameProblem } from "../project/names.js";
import { bundledRouter, effectiveHandler, routerHandler } from "../router/router.js";
import { siteDomain } from "../domain/names.js";
import { findPhpFpm, phpVersionOf } from "../project/php-fpm-binary.js";
import { findWordPress, maintainedFiles, wordpressFiles } from "../wordpress/files.js";
import { renderTemplate, type RenderedFile } from "./render.js";
import { bundledConsolePath } from "../console/handler.js";
import { consoleHandler } from "../project/command-line.js";

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
  /** A WordPress site (router, database, x86_64 with GD, lamp's wp-config.php and plugin); see src/wordpress. */
  wordpress?: boolean;
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
  /** With --wordpress: where WordPress lives, whether it was there already, and the files lamp set aside. */
  wordpress?: { documentRoot: string; existing: boolean; setAside: string[] };
  files: string[];
  /** Files that were there before and were replaced (--force), relative to the project. */
  replaced: string[];
}

/** The PHP a new project deploys when --php is not given, when the machine says nothing usable. */
const fallbackPhpVersion: PhpVersion = "8.4";

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
function shellQuoted(text: string): string {
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

function parseMemory(memory: string): number {
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
  const wordpress = options.wordpress ? await planWordPress(options) : undefined;
  const router = Boolean(options.router) || wordpress !== undefined;
  const config = await validateConfig(
    defaultConfig({
      stackName: options.name,
      region: options.region,
      ...(options.database || wordpress ? { database: {} } : {}),
      ...(router ? { router } : {}),
      ...(wordpress ? wordpressSettings(wordpress.documentRoot) : {}),
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
  let files = await renderTemplate(packagePath("templates", "app"), values);
  // A WordPress site's document root is WordPress's (its own index.php), not the sample page.
  if (wordpress) files = files.filter((file) => !file.path.startsWith("public/")).concat(await wordpressFiles(config));
  files.push({ path: "lamp.json", content: Buffer.from(serializeConfig(config)) });
  if (router) files.push({ path: routerHandler, content: await bundledRouter() });
  // The console function's handler (lamp run, release, schedule): in the project from the start, as deploy would write it.
  files.push({ path: consoleHandler, content: await readFile(bundledConsolePath) });
  if (config.database) files.push({ path: caBundleFile, content: await bundledCaBundle() });
  files.sort((a, b) => a.path.localeCompare(b.path));
  return {
    files,
    result: {
      stackName: options.name,
      region: options.region,
      php: options.php,
      arch: options.arch,
      memory,
      layer,
      router,
      ...(config.database ? { database: config.database.name } : {}),
      ...(domain ? { domain: domain.names } : {}),
      ...(wordpress ? { wordpress: { ...wordpress, setAside: [] } } : {}),
    },
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
  const planned = await planProject(options);
  const { result } = planned;
  let { files } = planned;
  const target = options.target;
  const entries = await checkTargetFolder(target, options.force);
  let setAside: RenderedFile[] = [];
  const replaced: string[] = [];
  if (entries && entries.length > 0) {
    if (result.wordpress) ({ files, setAside } = await keepingExistingSite(target, files));
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
    for (const file of setAside) {
      const destination = path.join(staging, ...setAsidePath(file.path).split("/"));
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
  const wordpress = result.wordpress && { ...result.wordpress, setAside: setAside.map((file) => file.path) };
  return { directory: target, ...result, ...(wordpress ? { wordpress } : {}), files: files.map((file) => file.path), replaced };
}

/** Where --wordpress keeps a file of an existing site that lamp's own replaces (git-ignored, never packaged). */
function setAsidePath(relative: string): string {
  return `.lamp/before-lamp/${relative}`;
}

/**
 * Into an existing site: its files are kept (lamp's template files that exist already are not
 * written), except the files lamp maintains (wp-config.php, db.php, the plugin), which replace
 * theirs — the old copy set aside under .lamp/before-lamp/ (it holds the old host's passwords).
 */
async function keepingExistingSite(target: string, files: RenderedFile[]): Promise<{ files: RenderedFile[]; setAside: RenderedFile[] }> {
  const managed = new Set((await maintainedFiles(await managedConfigOf(files))).files.map((file) => file.path));
  const kept: RenderedFile[] = [];
  const setAside: RenderedFile[] = [];
  for (const file of files) {
    const existing = await readFile(path.join(target, ...file.path.split("/"))).catch(() => undefined);
    if (file.path === ".gitignore" && existing !== undefined && !/^\/?\.lamp\/?$/m.test(existing.toString("utf8"))) {
      // lamp dev's state (the local database, the media stand-in, what was set aside) stays out of git.
      kept.push({ path: file.path, content: Buffer.concat([existing, Buffer.from(`${existing.length && !existing.toString("utf8").endsWith("\n") ? "\n" : ""}# lamp dev's local state: database, media, mail, files set aside by lamp init.\n/.lamp/\n`)]) });
    } else if (existing === undefined || existing.equals(file.content)) {
      kept.push(file);
    } else if (managed.has(file.path) || file.path === "lamp.json") {
      kept.push(file);
      setAside.push({ path: file.path, content: existing });
    }
  }
  return { files: kept, setAside };
}

async function managedConfigOf(files: RenderedFile[]) {
  const config = files.find((file) => file.path === "lamp.json")!;
  return validateConfig(JSON.parse(config.content.toString("utf8")));
}

/** What --wordpress needs: where WordPress is (a site already there, or public/ for a new one), on x86_64. */
async function planWordPress(options: InitOptions): Promise<{ documentRoot: string; existing: boolean }> {
  if (options.arch !== "x86_64") {
    throw new LampError("usage", `--wordpress needs --arch x86_64, not ${options.arch}: thumbnails need GD, which Bref provides as an extra layer for x86_64 functions only.`, "Leave --arch out (x86_64 is the default with --wordpress) or pass --arch x86_64.");
  }
  const found = await findWordPress(options.target);
  if (found === "") {
    throw new LampError(
      "usage",
      `${options.target} holds WordPress at its top level; lamp keeps a site's code apart from its web root (lamp.json, template.yaml and lamp/ must not be reachable by URL).`,
      "Move WordPress's files into a public/ subfolder (e.g. `mkdir public && git mv wp-* index.php xmlrpc.php license.txt readme.html public/`), then run `lamp init --wordpress --force` again.",
    );
  }
  return { documentRoot: found ?? "public", existing: found !== undefined };
}

/**
 * lamp.json for a WordPress site: media and old uploads stay out of the code package, and WordPress's
 * due cron events run every minute in the console function (wp-config.php turns off their runs on page views).
 */
function wordpressSettings(documentRoot: string) {
  return {
    wordpress: true,
    documentRoot,
    php: { extensions: ["gd"] },
    package: { exclude: [`${documentRoot}/wp-content/uploads`] },
    schedule: [{ run: `${documentRoot}/wp-cron.php`, rate: "1 minute" }],
  };
}

function reportWordPress(ui: Context["ui"], wordpress: NonNullable<InitResult["wordpress"]>): void {
  const where = `${wordpress.documentRoot}/`;
  ui.info(ui.colors.dim(`  WordPress in ${where}${wordpress.existing ? " (kept as it was)" : ""}: router mode, a database, x86_64 with GD (thumbnails), media in the stack's bucket at /wp-content/uploads/`));
  ui.info(ui.colors.dim(`  lamp keeps ${where}wp-config.php (everything from the environment), ${where}wp-content/db.php (verified TLS) and the must-use plugin ${where}wp-content/mu-plugins/lamp.php`));
  if (wordpress.setAside.length > 0) ui.warn(`Replaced ${wordpress.setAside.join(", ")}; the old ${wordpress.setAside.length === 1 ? "copy is" : "copies are"} in .lamp/before-lamp/ (git-ignored: ${wordpress.setAside.some((file) => file.endsWith("wp-config.php")) ? "the old wp-config.php holds the old host's passwords" : "never packaged"}).`);
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
  if (result.wordpress) reportWordPress(ui, result.wordpress);
  if (result.domain) ui.info(ui.colors.dim(`  Domain ${result.domain.join(", ")}: lamp deploy gets its certificate and, with a Route 53 zone, its DNS records (lamp.json \`domain\`)`));
  ui.info("");
  ui.info("Next:");
  if (relative !== ".") ui.info(`  cd ${shellQuoted(relative)}`);
  if (result.wordpress && !result.wordpress.existing) {
    // wordpress.org's release cannot ship inside lamp (GPL, and it would age): fetched and checked by the user.
    ui.info("  # WordPress itself (not bundled): the latest release into public/, checked against wordpress.org's SHA-1");
    ui.info("  curl -fsSLO https://wordpress.org/latest.tar.gz");
    ui.info('  echo "$(curl -fsSL https://wordpress.org/latest.tar.gz.sha1)  latest.tar.gz" | sha1sum -c -');
    ui.info("  tar -xzf latest.tar.gz -C public --strip-components=1 && rm latest.tar.gz");
  }
  ui.info("  composer install      # bref/bref and bref/secrets-loader, needed to deploy");
  ui.info("  lamp dev              # run it locally through php-fpm");
  ui.info("  lamp deploy           # ship it to AWS");
  return result;
}
