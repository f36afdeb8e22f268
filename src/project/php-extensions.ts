import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { LampConfig } from "./config.js";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import { functionProperty, literalLayers, webFunction, type Template, type TemplateValue } from "./sam-template.js";

/**
 * PHP extensions as Bref's layers provide them (brefphp/aws-lambda-layers `php-8x/Dockerfile` and
 * `tests/test_2_extensions.php`; brefphp/extra-php-extensions `layers.json`): what the layer loads,
 * what it ships turned off, and what only an extra layer brings. `lamp dev` loads exactly these;
 * `lamp deploy` adds what lamp.json's `php.extensions` asks for. Project knowledge both commands read.
 */

/** Loaded by Bref's layer, for every PHP version it builds: ini names (`extension=<name>`), lower case. */
export const brefExtensions: readonly string[] = [
  "core", "date", "filter", "hash", "libxml", "openssl", "pcntl", "pcre", "readline", "reflection", "session", "ffi",
  "zip", "zlib", "curl", "json", "bcmath", "ctype", "dom", "exif", "fileinfo", "ftp", "gettext", "iconv", "mbstring",
  "mysqli", "mysqlnd", "opcache", "pdo", "pdo_mysql", "pdo_pgsql", "pdo_sqlite", "phar", "posix", "simplexml",
  "sodium", "sockets", "spl", "sqlite3", "standard", "tokenizer", "xml", "xmlreader", "xmlwriter", "xsl", "random",
];

/** In Bref's layer but off until an ini line turns them on. */
export const brefOptionalExtensions: readonly string[] = ["intl", "apcu", "soap", "redis"];

/** brefphp/extra-php-extensions publishes its layers from this account. */
const extraLayerAccount = "403367587399";
/** The extra-php-extensions release whose layer table ships with lamp (data/bref-extra-php-extensions-<version>-layers.json). */
const bundledExtraExtensionsVersion = "3.0.9";

/** layer name (`gd-php-84`) -> region -> version. */
export type ExtraLayerTable = Record<string, Record<string, number>>;

export async function loadExtraLayerTable(): Promise<ExtraLayerTable> {
  const file = packagePath("data", `bref-extra-php-extensions-${bundledExtraExtensionsVersion}-layers.json`);
  return JSON.parse(await readFile(file, "utf8")) as ExtraLayerTable;
}

/** The extensions lamp.json asks for. */
export function requestedExtensions(config: Pick<LampConfig, "php">): string[] {
  return config.php?.extensions ?? [];
}

/** Those of `requested` that come from an extra layer (not Bref's own). */
function extraExtensions(requested: readonly string[]): string[] {
  return requested.filter((name) => !brefOptionalExtensions.includes(name) && !brefExtensions.includes(name));
}

/** The function's architecture as the template declares it (Lambda's default: x86_64). */
export function templateArchitecture(template: Template): string {
  const { resource } = webFunction(template);
  const architectures = functionProperty(template, resource, "Architectures");
  return Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : "x86_64";
}

/** "84" from the Bref layer the template names literally (`php-84`, `arm-php-84`). */
function templatePhpTag(template: Template): string | undefined {
  const { resource } = webFunction(template);
  for (const arn of literalLayers(template, resource)) {
    const match = /:layer:(?:arm-)?php-(\d{2})(?:-fpm)?:\d+$/.exec(arn);
    if (match) return match[1];
  }
  return undefined;
}

/** An extra layer on arm64 cannot work: refused before anything runs, with the fix. */
export function checkExtensionsArchitecture(requested: readonly string[], architecture: string): void {
  const extra = extraExtensions(requested);
  if (extra.length === 0 || architecture === "x86_64") return;
  throw new LampError(
    "config",
    `lamp.json: php.extensions asks for ${extra.join(", ")}, which only Bref's extra-extension layers provide, and those exist for x86_64 functions only (template.yaml: ${architecture}).`,
    'Set Architectures to [x86_64] in template.yaml (a new project: `lamp init --arch x86_64`), or remove them from "php.extensions".',
  );
}

/**
 * The template with php.extensions applied: each extra extension's layer added to the web function
 * (after Bref's, so its ini file in /opt/bref/etc/php/conf.d loads it). Bref's optional extensions
 * need an ini line, not a layer: see extensionsIni. Pure: the input template is not changed.
 */
export function applyExtensions(input: Template, config: Pick<LampConfig, "php" | "region">, table: ExtraLayerTable): Template {
  const extra = extraExtensions(requestedExtensions(config));
  if (extra.length === 0) return input;
  const template = structuredClone(input);
  checkExtensionsArchitecture(extra, templateArchitecture(template));
  const php = templatePhpTag(template);
  if (!php) {
    throw new LampError("config", `template.yaml: the web function names no Bref layer (php-8x) literally, so lamp cannot tell which PHP version's ${extra.join(", ")} layer to add.`, "Restore the Bref layer ARN in Layers (as `lamp init` writes it).");
  }
  const { resource } = webFunction(template);
  const layers = [...((functionProperty(template, resource, "Layers") as TemplateValue[] | undefined) ?? [])];
  for (const name of extra) {
    const layer = `${name}-php-${php}`;
    const version = table[layer]?.[config.region];
    if (version === undefined) {
      throw new LampError(
        "region",
        table[layer] ? `Bref publishes no ${layer} layer in region "${config.region}".` : `Bref's extra extensions have no ${layer} layer (PHP ${php[0]}.${php.slice(1)}).`,
        `Remove "${name}" from php.extensions, or use a region or PHP version it exists for.`,
      );
    }
    const arn = `arn:aws:lambda:${config.region}:${extraLayerAccount}:layer:${layer}:${version}`;
    if (!layers.includes(arn)) layers.push(arn);
  }
  (resource.Properties ??= {}).Layers = layers;
  return template;
}

/** The file lamp writes for Bref's optional extensions; php/conf.d is read in Lambda and by `lamp dev`. */
const extensionsIniPath = path.join("php", "conf.d", "lamp-extensions.ini");
const extensionsIniHeader = "; Written by lamp from lamp.json's php.extensions: edit that list, not this file.";

/** The ini text that turns on Bref's optional extensions, or undefined when none is asked for. */
export function extensionsIni(requested: readonly string[]): string | undefined {
  const optional = requested.filter((name) => brefOptionalExtensions.includes(name));
  if (optional.length === 0) return undefined;
  return [extensionsIniHeader, ...optional.map((name) => `extension=${name}`), ""].join("\n");
}

/**
 * Brings php/conf.d/lamp-extensions.ini in line with lamp.json (written whole, or removed when
 * nothing needs it; a file lamp did not write is left alone). Returns true when it changed.
 */
export async function syncExtensionsIni(root: string, requested: readonly string[]): Promise<boolean> {
  const file = path.join(root, extensionsIniPath);
  const wanted = extensionsIni(requested);
  let current: string | undefined;
  try {
    current = await readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT" && errnoCode(error) !== "ENOTDIR") throw new LampError("io", `Cannot read ${file}: ${(error as Error).message}`);
  }
  if (current === wanted) return false;
  if (current !== undefined && !current.startsWith(extensionsIniHeader)) {
    throw new LampError("config", `${extensionsIniPath} exists but was not written by lamp.`, `Move its settings to another file in php/conf.d; lamp writes ${extensionsIniPath} from lamp.json's php.extensions.`);
  }
  try {
    if (wanted === undefined) {
      await rm(file, { force: true });
    } else {
      await writeFile(`${file}.tmp`, wanted);
      await rename(`${file}.tmp`, file);
    }
  } catch (error) {
    throw new LampError("io", `Cannot write ${file}: ${(error as Error).message}`, "Check that php/conf.d exists and is writable.");
  }
  return true;
}

/** Functions and classes of extensions Bref's layer does not load: which extension a name belongs to. */
const symbolsOfExtensions: ReadonlyArray<[string, RegExp]> = [
  ["gd", /^(gd_info|image(?!_type_to_)[a-z0-9_]+)$/],
  ["intl", /^(numfmt_|collator_|grapheme_|idn_to_|normalizer_|transliterator_|msgfmt_|locale_|intl_|datefmt_|resourcebundle_|intlcal_|intltz_|numberformatter|collator|normalizer|transliterator|messageformatter|intldateformatter|intlcalendar|intltimezone|locale$|resourcebundle)/],
  ["calendar", /^(cal_|jd|easter_|unixtojd|gregoriantojd|juliantojd|jewishtojd|frenchtojd)/],
  ["bz2", /^bz(open|read|write|close|compress|decompress|flush|errno|error|errstr)$/],
  ["gmp", /^gmp(_|$)/],
  ["apcu", /^apcu(_|iterator$)/],
  ["soap", /^(soapclient|soapserver|soapfault|soapheader|soapparam|soapvar|use_soap_error_handler|is_soap_fault)$/],
  ["redis", /^redis(cluster|array|sentinel|exception)?$/],
  ["imagick", /^imagick/],
  ["memcached", /^memcached/],
  ["mongodb", /^mongodb\\/],
  ["ldap", /^ldap_/],
  ["igbinary", /^igbinary_/],
  ["yaml", /^yaml_/],
  ["pgsql", /^pg_/],
  ["ssh2", /^ssh2_/],
  ["uuid", /^uuid_/],
  ["xdebug", /^xdebug_/],
  ["shmop", /^shmop_/],
  ["sysv", /^(msg_get_queue|msg_send|msg_receive|sem_get|sem_acquire|sem_release|shm_attach|shm_put_var|shm_get_var)$/],
];

/**
 * For a PHP fatal error about an undefined function or class of an extension Bref's layer does
 * not load: a line naming the extension and what to do. Undefined for every other line.
 */
export function missingExtensionHint(line: string, requested: readonly string[] = []): { extension: string; message: string } | undefined {
  const match = /Call to undefined function ([\w\\]+)\(\)|Class "([\w\\]+)" not found/.exec(line);
  if (!match) return undefined;
  const symbol = (match[1] ?? match[2]!).replace(/^\\/, "");
  const lower = symbol.toLowerCase();
  const found = symbolsOfExtensions.find(([, pattern]) => pattern.test(lower));
  if (!found) return undefined;
  const [extension] = found;
  const what = match[1] ? `${symbol}()` : `class ${symbol}`;
  if (requested.includes(extension)) return undefined;
  if (extension === "shmop" || extension === "sysv") {
    return { extension, message: `${what} is in PHP's ${extension} extension, which no Bref layer provides: it does not exist in Lambda. Use another store (the database, Redis, S3).` };
  }
  const kind = brefOptionalExtensions.includes(extension) ? "in Bref's layer but off" : "not in Bref's layer (an extra layer, x86_64 only)";
  return { extension, message: `${what} is in the ${extension} extension, ${kind}: add "${extension}" to "php.extensions" in lamp.json (lamp dev and lamp deploy then load it).` };
}
