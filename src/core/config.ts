import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { LampError, errnoCode } from "./errors.js";
import { packagePath } from "./paths.js";

export const configFileName = "lamp.json";
/** Where editors find the schema: the copy that ships inside the npm package. */
export const schemaUrl = "https://unpkg.com/serverless-lamp/schema/lamp.schema.json";

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
  /** PHP beyond Bref's defaults (see src/project/php-extensions.ts). Absent: the layer's extensions only. */
  php?: { extensions: string[] };
  /** A WordPress site (src/wordpress): media in the stack's bucket, lamp's wp-config.php and must-use plugin. */
  wordpress?: boolean;
  /** PHP's mail(): caught under `lamp dev`, sent through Amazon SES from `from` in Lambda (src/mail). */
  mail?: { from: string };
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
  /** `public`: the function stays outside a VPC, the cluster takes TLS connections; `private`: both in isolated subnets. */
  network: "public" | "private";
}

/** lamp.json's `domain`: one name, or a main name plus names that redirect to it. */
export type DomainSetting = string | { name: string; aliases?: string[] };

/** A loaded config and where it came from. */
export interface Project {
  root: string;
  configPath: string;
  config: LampConfig;
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
    ...(input.wordpress ? { wordpress: true } : {}),
    ...(input.mail ? { mail: input.mail } : {}),
  };
}

/** A database name from a stack name: MySQL identifiers are safest as letters, digits and underscores. */
export function databaseNameFor(stackName: string): string {
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
 * The validator `npm run build` generated from the schema (dist/core/lamp-schema-validator.cjs):
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
      if (!environmentNamePattern.test(name)) {
        fail(`environment key ${shown} is not a Lambda variable name.`, "Use a letter, then letters, digits and underscores (at least 2 characters), e.g. APP_ENV.");
      }
      if (typeof value === "string" && value.includes("\0")) {
        fail(`environment.${name} contains a NUL character, which no environment variable can hold.`, `Remove it from the value of ${name}.`);
      }
    }
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
    if (error?.keyword === "additionalProperties") detail = `has an unknown property "${String(error.params.additionalProperty)}"`;
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
  const assetsDirProblem = publicFolderProblem(config.assets.dir, config.handler);
  if (assetsDirProblem) {
    throw new LampError(
      "config",
      `${source}: assets.dir ${JSON.stringify(config.assets.dir)} ${assetsDirProblem}.`,
      `Point "assets.dir" at a folder inside the project that holds only public files, such as "assets".`,
    );
  }
  return config;
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

/** Reads and validates `lamp.json` in `root`. */
export async function loadProject(root: string): Promise<Project> {
  const project = await findProject(root);
  if (!project) {
    throw new LampError("config", `No ${configFileName} in ${root}.`, "Run this inside a project made by `lamp init`, or run `lamp init` first.");
  }
  return project;
}

/** Like loadProject, for commands that also work outside a project: undefined when there is no `lamp.json`. */
export async function findProject(root: string): Promise<Project | undefined> {
  const configPath = path.join(root, configFileName);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw new LampError("io", `Cannot read ${configPath}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    // Editors on Windows may save a byte order mark: it says "UTF-8", which lamp.json is anyway.
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new LampError("config", `${configFileName} is not valid JSON: ${(error as Error).message}.`, `Fix the syntax in ${configPath}.`);
  }
  return { root, configPath, config: await validateConfig(data) };
}

export function serializeConfig(config: LampConfig): string {
  return `${JSON.stringify({ $schema: schemaUrl, ...config }, null, 2)}\n`;
}
