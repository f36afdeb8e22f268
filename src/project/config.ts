import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import { mergePatch, stageData, stageStackName } from "./stage.js";
import { splitCommandLine } from "./command-line.js";
import { describeEntry, parseSchedule, type ScheduleEntry } from "./schedule.js";

export const configFileName = "lamp.json";
/** Where editors find the schema: the copy that ships inside the npm package. */
const schemaUrl = "https://unpkg.com/serverless-lamp/schema/lamp.schema.json";

export interface LampConfig {
  stackName: string;
  region: string;
  handler: string;
  /** Router mode: lamp's router (lamp/router.php) is the handler; see src/router. */
  router: boolean;
  /** The web root, relative to the project: its static files are public, its .php files are entry points in router mode. */
  documentRoot: string;
  environment: Record<string, string>;
  assets: {
    dir: string;
    exclude: string[];
    cacheControl: Record<string, string>;
    invalidationThreshold: number;
  };
  package: {
    exclude: string[];
  };
  /** The site's own domain (checked and used by src/domain); absent: the CloudFront name only. */
  domain?: DomainSetting;
  /** A MySQL database: Aurora Serverless v2 in AWS, a local MariaDB under `lamp dev`. Absent: none. */
  database?: DatabaseConfig;
  /** The console function (src/console); absent: its defaults (consoleTimeout). */
  console?: { timeout?: number };
  /** Commands run in the console function after a deploy that changed something. */
  release?: string[];
  /** Commands EventBridge Scheduler runs in the console function. */
  schedule?: ScheduleEntry[];
  /** PHP beyond Bref's defaults (see src/project/php-extensions.ts). Absent: the layer's extensions only. */
  php?: { extensions: string[] };
  /** A WordPress site (src/wordpress): media in the stack's bucket, lamp's wp-config.php and must-use plugin. */
  wordpress?: boolean;
  /** PHP's mail(): caught under `lamp dev`, sent through Amazon SES from `from` in Lambda (src/mail). */
  mail?: { from: string };
  /** Per-stage settings, merged over the rest by loadProject (src/project/stage.ts); kept as written. */
  stages?: Record<string, unknown>;
}

export interface DatabaseConfig {
  engine: "mysql";
  /** The application's database (schema) name. */
  name: string;
  /** Aurora capacity units; 0 lets the cluster pause when idle. */
  minCapacity: number;
  maxCapacity: number;
  /** Seconds without connections before a cluster at 0 ACU pauses. */
  autoPause: number;
  /** Deleting the stack (or replacing the cluster) leaves a final snapshot; false for throw-away previews. */
  finalSnapshot?: boolean;
  /** `public`: the function stays outside a VPC, the cluster takes TLS connections; `private`: both in isolated subnets. */
  network: "public" | "private";
}

/** lamp.json's `domain`: one name, or a main name plus names that redirect to it. */
export type DomainSetting = string | { name: string; aliases?: string[] };

/** A loaded config and where it came from. */
export interface Project {
  root: string;
  configPath: string;
  /** The stage's view: its `stages` entry merged in, `stackName` the stage's stack (stageStackName). */
  config: LampConfig;
  /** --stage / LAMP_STAGE; absent: the project's own stack. */
  stage?: string;
  /** The stage took lamp.json's top-level `domain` as it is (its entry, if any, says nothing of it). */
  stageInheritsDomain?: boolean;
}

export type ConfigInput = Partial<Omit<LampConfig, "assets" | "package" | "database">> & {
  assets?: Partial<LampConfig["assets"]>;
  package?: Partial<LampConfig["package"]>;
  database?: Partial<DatabaseConfig>;
};

export function defaultConfig(input: { stackName: string; region: string } & ConfigInput): LampConfig {
  return {
    stackName: input.stackName,
    region: input.region,
    handler: input.handler ?? "public/index.php",
    router: input.router ?? false,
    documentRoot: input.documentRoot ?? "public",
    environment: input.environment ?? {},
    assets: {
      dir: input.assets?.dir ?? "assets",
      exclude: input.assets?.exclude ?? [],
      cacheControl: input.assets?.cacheControl ?? {},
      invalidationThreshold: input.assets?.invalidationThreshold ?? 50,
    },
    package: { exclude: input.package?.exclude ?? [] },
    ...(input.domain === undefined ? {} : { domain: input.domain }),
    ...(input.database ? { database: defaultDatabaseConfig(input.stackName, input.database) } : {}),
    ...(input.php ? { php: input.php } : {}),
    ...(input.schedule ? { schedule: input.schedule } : {}),
    ...(input.wordpress ? { wordpress: true } : {}),
    ...(input.mail ? { mail: input.mail } : {}),
  };
}

/** A database name from a stack name: MySQL identifiers are safest as letters, digits and underscores. */
function databaseNameFor(stackName: string): string {
  return stackName.replace(/[^A-Za-z0-9]+/g, "_").replace(/^[^A-Za-z]+/, "").slice(0, 64) || "app";
}

export function defaultDatabaseConfig(stackName: string, input: Partial<DatabaseConfig> = {}): DatabaseConfig {
  return {
    engine: input.engine ?? "mysql",
    name: input.name ?? databaseNameFor(stackName),
    minCapacity: input.minCapacity ?? 0,
    maxCapacity: input.maxCapacity ?? 2,
    autoPause: input.autoPause ?? 300,
    network: input.network ?? "public",
    ...(input.finalSnapshot === undefined ? {} : { finalSnapshot: input.finalSnapshot }),
  };
}

type Validator = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[] | null;
};
let validator: Validator | undefined;

/** Ajv's options; scripts/compile-lamp-schema.mjs compiles the shipped validator with the same. */
const ajvOptions = { allErrors: false, useDefaults: true, strict: false };

async function schemaValidator(): Promise<Validator> {
  validator ??= precompiledValidator() ?? (await compileSchema());
  return validator;
}

/**
 * The validator `npm run build` generated from the schema (dist/project/lamp-schema-validator.cjs):
 * loading it costs next to nothing, where loading Ajv and compiling the schema took a few
 * hundred milliseconds of every command's start. Absent when running from sources.
 */
function precompiledValidator(): Validator | undefined {
  try {
    return createRequire(import.meta.url)("./lamp-schema-validator.cjs") as Validator;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && String((error as Error).message).includes("lamp-schema-validator.cjs")) return undefined;
    throw error;
  }
}

async function compileSchema(): Promise<Validator> {
  // Ajv is CommonJS; its default export under NodeNext typing is awkward, so require it.
  const require = createRequire(import.meta.url);
  const Ajv = require("ajv") as new (options: object) => { compile(schema: object): Validator };
  const schema = JSON.parse(await readFile(packagePath("schema", "lamp.schema.json"), "utf8")) as object;
  return new Ajv(ajvOptions).compile(schema);
}

/**
 * Names Lambda sets itself and refuses in a function's configuration (the "reserved" table of
 * the Lambda guide's environment variables page). TZ, LANG, PATH and AWS_LAMBDA_EXEC_WRAPPER are
 * not reserved: they may be set.
 */
export const reservedEnvironmentNames: ReadonlySet<string> = new Set([
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
]);
/**
 * Names lamp sets itself, in Lambda and under lamp dev: the runtime layer's (LAMP_ORIGIN_TOKEN,
 * LAMP_DOCUMENT_ROOT, ...) and, with a `database` section, the database's. Set in lamp.json they
 * would replace lamp's value (a guessable origin token deployed; a database the app never reaches).
 */
function lampOwnedEnvironmentName(name: string, hasDatabase: boolean): boolean {
  if (lampSwitches.has(name)) return false;
  if (/^LAMP_/.test(name)) return true;
  // The database's variables are lamp's when lamp provides the database; an app that reaches its own
  // database (no `database` section) names it as it likes.
  return hasDatabase && (/^DB_/.test(name) || name === "DATABASE_URL" || name === "MYSQL_ATTR_SSL_CA");
}
/** The LAMP_ names that are the app's to set: switches of the runtime layer documented for lamp.json. */
const lampSwitches: ReadonlySet<string> = new Set(["LAMP_SESSIONS", "LAMP_SESSION_LOCK_SECONDS", "LAMP_SITE_URL", "LAMP_COMPRESSION"]);
/** MySQL's own schemas: an app database of that name would be given ALL on them locally. */
const systemDatabaseNames: ReadonlySet<string> = new Set(["mysql", "sys", "information_schema", "performance_schema"]);
/** Project folders with a job of their own: never the web root. */
const reservedFolders = ["php", "lamp"] as const;
/** Lambda's pattern for variable names: a letter, then at least one letter, digit or underscore. */
export const environmentNamePattern = /^[A-Za-z][A-Za-z0-9_]+$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * What the schema cannot say well: each message names the key at fault. Checked before the
 * schema so that, say, `_HANDLER` is called reserved rather than a name of the wrong shape.
 */
function valueProblems(data: unknown, source: string): void {
  if (!isObject(data)) return;
  const fail = (message: string, hint: string): never => {
    throw new LampError("config", `${source}: ${message}`, hint);
  };
  if (isObject(data.environment)) {
    for (const [name, value] of Object.entries(data.environment)) {
      const shown = JSON.stringify(name);
      if (reservedEnvironmentNames.has(name)) {
        fail(`environment.${name} is set by Lambda itself and cannot be set in lamp.json.`, `Remove ${name} from "environment"; PHP reads Lambda's own value.`);
      }
      if (lampOwnedEnvironmentName(name, data.database !== undefined)) {
        const owned = /^LAMP_/.test(name) ? "the runtime layer's (LAMP_*)" : "the database's (DB_*, DATABASE_URL, MYSQL_ATTR_SSL_CA, set from lamp.json's database)";
        fail(`environment.${name} is a name lamp sets itself, ${owned}, and cannot be set in lamp.json.`, `Remove ${name} from "environment", or use a name of your own such as APP_${name.replace(/^(LAMP|DB)_/, "")}.`);
      }
      if (!environmentNamePattern.test(name)) {
        fail(`environment key ${shown} is not a Lambda variable name.`, "Use a letter, then letters, digits and underscores (at least 2 characters), e.g. APP_ENV.");
      }
      if (typeof value === "string" && value.includes("\0")) {
        fail(`environment.${name} contains a NUL character, which no environment variable can hold.`, `Remove it from the value of ${name}.`);
      }
    }
  }
  if (isObject(data.database) && typeof data.database.name === "string" && systemDatabaseNames.has(data.database.name.toLowerCase())) {
    fail(`database.name "${data.database.name}" is one of MySQL's own schemas.`, 'Name the app\'s database after it, e.g. "app" or "shop".');
  }
  const cacheControl = isObject(data.assets) ? data.assets.cacheControl : undefined;
  if (isObject(cacheControl)) {
    for (const [glob, value] of Object.entries(cacheControl)) {
      if (typeof value === "string" && /[\r\n\0]/.test(value)) {
        fail(`assets.cacheControl[${JSON.stringify(glob)}] contains a line break or NUL: a Cache-Control value is one header line.`, `Write the value of "${glob}" on one line, e.g. "public, max-age=300".`);
      }
    }
  }
}

/** The property names the schema allows at a path such as /assets ("" for the root). */
async function knownProperties(instancePath: string): Promise<string[]> {
  let node = JSON.parse(await readFile(packagePath("schema", "lamp.schema.json"), "utf8")) as { properties?: Record<string, unknown>; oneOf?: unknown[] };
  for (const segment of instancePath.split("/").filter(Boolean)) {
    const next = node.properties?.[segment] as typeof node | undefined;
    // A key with two forms (domain: a string or an object): the object's properties.
    node = (next?.properties ? next : (next?.oneOf?.find((form) => (form as typeof node).properties) as typeof node | undefined)) ?? {};
  }
  return Object.keys(node.properties ?? {}).filter((name) => name !== "$schema");
}

/** The known name a mistyped one most likely meant (a few edits away, or differing only in case), or undefined. */
function closestName(typed: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i += 1) {
      const current = [i];
      for (let j = 1; j <= b.length; j += 1) {
        current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      previous = current;
    }
    return previous[b.length]!;
  };
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    const score = distance(typed.toLowerCase(), name.toLowerCase());
    if (score <= Math.max(2, Math.floor(name.length / 3)) && (!best || score < best.score)) best = { name, score };
  }
  return best?.name;
}

/**
 * The offset of the first character that is not JSON: some Node versions' JSON.parse messages
 * quote the text around the error instead of giving its position.
 */
function jsonErrorOffset(text: string): number {
  let index = 0;
  const space = () => {
    while (/[ \t\r\n]/.test(text[index] ?? "")) index += 1;
  };
  const fail = (): never => {
    throw index;
  };
  const string = () => {
    if (text[index] !== '"') fail();
    index += 1;
    while (index < text.length && text[index] !== '"') {
      if (text.charCodeAt(index) < 0x20) fail();
      index += text[index] === "\\" ? 2 : 1;
    }
    if (index >= text.length) fail();
    index += 1;
  };
  const value = (): void => {
    space();
    const character = text[index];
    if (character === "{" || character === "[") {
      const close = character === "{" ? "}" : "]";
      index += 1;
      space();
      if (text[index] === close) return void (index += 1);
      for (;;) {
        if (close === "}") {
          space();
          string();
          space();
          if (text[index] !== ":") fail();
          index += 1;
        }
        value();
        space();
        if (text[index] === ",") index += 1;
        else if (text[index] === close) return void (index += 1);
        else fail();
      }
    }
    if (character === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(index));
    if (!literal) fail();
    index += literal![0].length;
  };
  try {
    value();
    space();
    if (index < text.length) fail();
  } catch (offset) {
    return offset as number;
  }
  return text.length;
}

/** Where JSON.parse stopped, as line:column (Node 20 gives only a character offset, later versions both). */
function jsonSyntaxProblem(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  const offset = position ? Number(position[1]) : jsonErrorOffset(text);
  const reason = error.message
    .replace(/(?: in JSON)? at position \d+(?: \(line \d+ column \d+\))?/, "")
    .replace(/, (?:\.\.\.)?"[\s\S]*$/, "")
    .replace(/\.$/, "");
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before.at(-1)!.length + 1}: ${reason}`;
}

/** Validates parsed JSON against the shipped schema, filling defaults. Throws with the field path. */
export async function validateConfig(data: unknown, source = configFileName): Promise<LampConfig> {
  valueProblems(data, source);
  const validate = await schemaValidator();
  const copy = structuredClone(data);
  if (!validate(copy)) {
    const errors = validate.errors ?? [];
    // A value that fits neither form of `domain` fails both; the object form's complaint is the useful one.
    const error = errors.find((candidate) => candidate.instancePath.startsWith("/domain") && candidate.keyword !== "type" && candidate.keyword !== "oneOf") ?? errors[0];
    const where = error?.instancePath ? error.instancePath.slice(1).replaceAll("/", ".") : "(root)";
    let detail = error?.message ?? "is invalid";
    if (error?.keyword === "additionalProperties") {
      const unknown = String(error.params.additionalProperty);
      const suggestion = closestName(unknown, await knownProperties(error.instancePath));
      detail = `has an unknown property "${unknown}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
    }
    if (error?.keyword === "pattern" && where === "stackName") {
      detail = "must be letters, digits and hyphens, start with a letter, and be at most 128 characters";
    }
    if (error?.keyword === "pattern" && where === "region") detail = "must be an AWS region such as eu-west-1";
    if (error?.keyword === "pattern" && where === "documentRoot") {
      detail = "must be a folder inside the project such as public (relative, without .., not a dot-folder)";
    }
    if (where === "domain" && (error?.keyword === "type" || error?.keyword === "oneOf")) {
      detail = 'must be a domain name such as "www.example.com", or {"name": "example.com", "aliases": ["www.example.com"]}';
    }
    throw new LampError("config", `${source}: ${where} ${detail}.`, `Fix ${source}; its schema is ${schemaUrl}.`);
  }
  const config = copy as LampConfig;
  consoleProblems(config, source);
  const assetsDirProblem = publicFolderProblem(config.assets.dir, config.handler) ?? nestingProblem(config.assets.dir, config.documentRoot, config.router);
  if (assetsDirProblem) {
    throw new LampError(
      "config",
      `${source}: assets.dir ${JSON.stringify(config.assets.dir)} ${assetsDirProblem}.`,
      `Point "assets.dir" at a folder inside the project that holds only public files, such as "assets".`,
    );
  }
  const documentRootProblem = reservedFolderProblem(config.documentRoot);
  if (documentRootProblem) {
    throw new LampError("config", `${source}: documentRoot ${JSON.stringify(config.documentRoot)} ${documentRootProblem}.`, 'Point "documentRoot" at the folder of your public files and entry points, such as "public".');
  }
  return config;
}

/** `release` and `schedule` entries: each one a command line, each schedule's timing EventBridge's. */
function consoleProblems(config: LampConfig, source: string): void {
  for (const [index, command] of (config.release ?? []).entries()) {
    let args: string[];
    try {
      args = splitCommandLine(command);
    } catch (error) {
      throw new LampError("config", `${source}: release[${index}] ${JSON.stringify(command)} has ${(error as Error).message}.`, "Close the quote, or escape it with a backslash.");
    }
    if (args.length === 0) throw new LampError("config", `${source}: release[${index}] is empty.`, 'Give a script and its arguments, e.g. "artisan migrate --force".');
  }
  for (const [index, entry] of (config.schedule ?? []).entries()) {
    try {
      parseSchedule(entry);
    } catch (error) {
      throw new LampError("config", `${source}: ${describeEntry(index, entry)}: ${(error as Error).message}.`, `Fix that entry of "schedule" in ${source}; cron is EventBridge's (6 fields), rate e.g. "5 minutes".`);
    }
  }
}

/** A folder path as lamp.json gives it, compared by its segments: "public/" and "./public" are "public". */
function folderKey(folder: string): string {
  return path.posix.normalize(folder).replace(/\/+$/, "");
}

function within(folder: string, parent: string): boolean {
  return folder === parent || folder.startsWith(`${parent}/`);
}

/**
 * assets.dir and documentRoot inside one another: every file of assets.dir is public, so PHP source
 * of the web root (wp-config.php) would be served at /assets/ and uploaded to the bucket. In router
 * mode PHP lives anywhere in the web root (wp-content/plugins), so a folder inside it is refused
 * too; a front controller's web root holds only its handler, so public/assets stays possible.
 */
function nestingProblem(assetsDir: string, documentRoot: string, router: boolean): string | undefined {
  const assets = folderKey(assetsDir);
  const web = folderKey(documentRoot);
  if (assets === web) return `is also the documentRoot, whose PHP source would be published at /assets/`;
  if (router && within(assets, web)) return `is inside the documentRoot "${documentRoot}", whose PHP source would be published at /assets/`;
  if (within(web, assets)) return `holds the documentRoot "${documentRoot}", whose PHP source would be published at /assets/`;
  return undefined;
}

/** The web root may not be (or be inside) assets/, php/ (ini files) or lamp/ (the router, which would run itself). */
function reservedFolderProblem(documentRoot: string): string | undefined {
  const web = folderKey(documentRoot);
  if (web === "." || web === "") return "is the project folder itself, which holds lamp.json, the router and the code";
  if (within(web, "assets")) return 'is the assets folder ("assets"), whose every file is public at /assets/';
  for (const folder of reservedFolders) {
    if (within(web, folder)) return folder === "lamp" ? "is lamp's own folder (lamp/), where the router lives: the router would run itself" : "is php/, which holds PHP's configuration";
  }
  return undefined;
}

/**
 * What only the disk can tell: a documentRoot that is a symlink out of the project (lamp dev and
 * lamp deploy would publish another folder's files), or one that holds lamp/ (the router). A
 * document root that does not exist yet is left to the commands that need it.
 */
async function checkFolders(root: string, config: LampConfig, source: string): Promise<void> {
  const projectReal = await realpath(root).catch(() => path.resolve(root));
  const webReal = await realpath(path.join(root, config.documentRoot)).catch(() => undefined);
  if (!webReal) return;
  const inside = (folder: string, parent: string) => folder === parent || folder.startsWith(`${parent}${path.sep}`);
  const hint = 'Point "documentRoot" at a real folder of the project, such as "public".';
  if (!inside(webReal, projectReal) || webReal === projectReal) {
    const where = webReal === projectReal ? "the project folder itself" : webReal;
    throw new LampError("config", `${source}: documentRoot ${JSON.stringify(config.documentRoot)} leads to ${where} (a symlink), which lamp would publish.`, hint);
  }
  const routerReal = await realpath(path.join(root, "lamp")).catch(() => undefined);
  if (routerReal && inside(routerReal, webReal)) {
    throw new LampError("config", `${source}: documentRoot ${JSON.stringify(config.documentRoot)} holds lamp/ (the router), which would run itself at /lamp/router.php.`, hint);
  }
}

/**
 * Why `dir` (lamp.json's `assets.dir`) cannot be the folder whose every file is public at
 * /assets/*, or undefined when it can: it must lie inside the project, below its root, and
 * must not hold the handler (its PHP source would be served by lamp dev and uploaded).
 */
function publicFolderProblem(dir: string, handler: string): string | undefined {
  if (dir.includes("\0")) return "contains a NUL character";
  if (dir.includes("\\")) return "must use / separators";
  if (path.posix.isAbsolute(dir) || path.win32.isAbsolute(dir)) return "must be relative to the project, not an absolute path";
  const folder = path.posix.normalize(dir).replace(/\/+$/, "");
  if (folder === "." || folder === "") return "is the project folder itself, which holds lamp.json and the code";
  if (folder === ".." || folder.startsWith("../")) return "is outside the project";
  if (folder.split("/").some((segment) => segment.startsWith("."))) return "is a dot-folder, whose files are never public";
  const handlerFolder = path.posix.dirname(path.posix.normalize(handler));
  if (handlerFolder === folder || handlerFolder.startsWith(`${folder}/`)) {
    return `holds the handler (${handler}), whose PHP source would be published`;
  }
  return undefined;
}

/** Reads and validates `lamp.json` in `root`, as `stage` sees it. */
export async function loadProject(root: string, stage?: string): Promise<Project> {
  const project = await findProject(root, stage);
  if (!project) {
    throw new LampError("config", `No ${configFileName} in ${root}.`, "Run this inside a project made by `lamp init`, or run `lamp init` first.");
  }
  return project;
}

/** Like loadProject, for commands that also work outside a project: undefined when there is no `lamp.json`. */
export async function findProject(root: string, stage?: string): Promise<Project | undefined> {
  const configPath = path.join(root, configFileName);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new LampError("io", `Cannot read ${configPath}: ${(error as Error).message}`);
  }
  let data: unknown;
  // Editors on Windows may save a byte order mark: it says "UTF-8", which lamp.json is anyway.
  const json = text.replace(/^\uFEFF/, "");
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new LampError("config", `${configFileName} is not valid JSON at ${jsonSyntaxProblem(json, error as Error)}.`, `Fix the syntax in ${configPath}.`);
  }
  const base = await validateConfig(data);
  // Every stage's entry is checked merged, as it will be used (a typo in the preview settings shows up in
  // production's next command, not in the first preview's deploy); messages name the entry.
  const entries = new Map<string, LampConfig>();
  for (const [key, patch] of Object.entries(base.stages ?? {})) {
    entries.set(key, await validateConfig(mergePatch(data, patch), `${configFileName} stages.${key}`));
  }
  const entry = stageData(data, stage).entry;
  const config = entry === undefined ? base : entries.get(entry)!;
  await checkFolders(root, config, entry === undefined ? configFileName : `${configFileName} stages.${entry}`);
  const inheritsDomain = stage !== undefined && base.domain !== undefined && !(entry !== undefined && Object.hasOwn(base.stages?.[entry] as object, "domain"));
  return {
    root,
    configPath,
    ...(stage === undefined ? {} : { stage }),
    ...(inheritsDomain ? { stageInheritsDomain: true } : {}),
    config: { ...config, stackName: stageStackName(base.stackName, stage) },
  };
}

export function serializeConfig(config: LampConfig): string {
  return `${JSON.stringify({ $schema: schemaUrl, ...config }, null, 2)}\n`;
}
