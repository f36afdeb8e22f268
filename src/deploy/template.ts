import { createHash } from "node:crypto";
import YAML from "yaml";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";

/**
 * template.yaml as data: parsed with CloudFormation's short-form tags turned into their long
 * form (`!Ref X` -> `{ "Ref": "X" }`), changed for deployment, and sent as compact JSON
 * (CloudFormation and the SAM transform take JSON as well as YAML, and JSON is smaller).
 */

export type TemplateValue = string | number | boolean | null | TemplateValue[] | { [key: string]: TemplateValue };
export interface Template {
  [key: string]: unknown;
  Resources?: Record<string, TemplateResource>;
  Outputs?: Record<string, TemplateValue>;
}
export interface TemplateResource {
  [key: string]: unknown;
  Type: string;
  Properties?: Record<string, TemplateValue>;
}

/** Short-form tag -> long-form key. `!Ref` and `!Condition` have no `Fn::` prefix. */
const intrinsicTags: Record<string, string> = {
  "!Ref": "Ref",
  "!Condition": "Condition",
  ...Object.fromEntries(
    ["Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "ToJsonString", "Length"].map(
      (name) => [`!${name}`, `Fn::${name}`],
    ),
  ),
};

// Registering the tags for each node kind keeps the tag on the node without "unresolved tag" warnings.
const customTags = Object.keys(intrinsicTags).flatMap((tag) => [
  { tag, resolve: (value: unknown) => value },
  { tag, collection: "seq" as const, resolve: (value: unknown) => value },
  { tag, collection: "map" as const, resolve: (value: unknown) => value },
]);

function toValue(node: unknown, source: string): TemplateValue {
  let value: TemplateValue;
  if (YAML.isMap(node)) {
    const object: Record<string, TemplateValue> = {};
    for (const pair of node.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      object[key] = toValue(pair.value, source);
    }
    value = object;
  } else if (YAML.isSeq(node)) {
    value = node.items.map((item) => toValue(item, source));
  } else if (YAML.isScalar(node)) {
    value = node.value as TemplateValue;
  } else if (YAML.isAlias(node)) {
    throw new LampError("config", `${source}: YAML aliases are not supported by CloudFormation.`, "Repeat the value instead of using *alias.");
  } else {
    value = null;
  }
  const tag = (node as { tag?: string } | null)?.tag;
  if (tag && tag.startsWith("!")) {
    const key = intrinsicTags[tag];
    if (!key) throw new LampError("config", `${source}: unknown tag ${tag}.`, "Use a CloudFormation intrinsic function such as !Ref, !Sub or !GetAtt.");
    // `!GetAtt Resource.Attribute` is the one short form whose scalar must be split.
    if (key === "Fn::GetAtt" && typeof value === "string") {
      const dot = value.indexOf(".");
      value = dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
    }
    return { [key]: value };
  }
  return value;
}

/** Parses template.yaml (or JSON, a subset of YAML) into long-form data. */
export function parseTemplate(text: string, source = "template.yaml"): Template {
  const doc = YAML.parseDocument(text, { customTags, uniqueKeys: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line;
    const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new LampError("config", `${source}${line ? ` line ${line}` : ""}: ${message}`, `Fix the YAML in ${source}.`);
  }
  const template = toValue(doc.contents, source);
  if (!template || typeof template !== "object" || Array.isArray(template)) {
    throw new LampError("config", `${source} is not a CloudFormation template (expected a mapping at the top).`, "Restore it from `lamp init`.");
  }
  const resources = (template as Template).Resources;
  if (!resources || typeof resources !== "object" || Array.isArray(resources) || Object.keys(resources).length === 0) {
    throw new LampError("config", `${source} has no Resources.`, "Restore it from `lamp init`.");
  }
  for (const [id, resource] of Object.entries(resources)) {
    if (!resource || typeof resource !== "object" || typeof (resource as TemplateResource).Type !== "string") {
      throw new LampError("config", `${source}: resource ${id} has no Type.`, `Fix ${id} in ${source}.`);
    }
  }
  return template as Template;
}

export const templateFileName = "template.yaml";

/** Reads and parses the project's template.yaml. */
export async function readTemplate(root: string): Promise<Template> {
  const file = path.join(root, templateFileName);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") throw new LampError("config", `No ${templateFileName} in ${root}.`, "Run this inside a project made by `lamp init`.");
    throw new LampError("io", `Cannot read ${file}: ${(error as Error).message}`);
  }
  return parseTemplate(text, templateFileName);
}

/** The deployable form: compact JSON, byte-identical for identical data. */
export function serializeTemplate(template: Template): string {
  return JSON.stringify(template);
}

export const serverlessFunctionType = "AWS::Serverless::Function";
/** The logical id `lamp init` gives the PHP-FPM function. */
export const webFunctionId = "WebFunction";

/** The function that serves the web: WebFunction, or the only SAM function. */
export function webFunction(template: Template, source = "template.yaml"): { id: string; resource: TemplateResource } {
  const resources = template.Resources ?? {};
  const named = resources[webFunctionId];
  if (named?.Type === serverlessFunctionType) return { id: webFunctionId, resource: named };
  const functions = Object.entries(resources).filter(([, resource]) => resource.Type === serverlessFunctionType);
  if (functions.length === 1) return { id: functions[0]![0], resource: functions[0]![1] };
  throw new LampError(
    "config",
    functions.length === 0 ? `${source} declares no ${serverlessFunctionType}.` : `${source} declares several functions and none is named ${webFunctionId}.`,
    `Name the PHP-FPM function ${webFunctionId}, as \`lamp init\` does.`,
  );
}

function globalsFunction(template: Template): Record<string, TemplateValue> {
  const globals = template.Globals as Record<string, TemplateValue> | undefined;
  const fn = globals?.Function;
  return fn && typeof fn === "object" && !Array.isArray(fn) ? (fn as Record<string, TemplateValue>) : {};
}

/** A property of a SAM function, falling back to the template's Globals.Function. */
export function functionProperty(template: Template, resource: TemplateResource, name: string): TemplateValue | undefined {
  return resource.Properties?.[name] ?? globalsFunction(template)[name];
}

/** The literal layer ARNs of a function (layers given by !Ref or !Sub cannot be checked here). */
export function literalLayers(template: Template, resource: TemplateResource): string[] {
  const layers = functionProperty(template, resource, "Layers");
  return Array.isArray(layers) ? layers.filter((layer): layer is string => typeof layer === "string") : [];
}

/** Lambda sets these itself and rejects a function that sets them. */
export const reservedEnvironmentNames = new Set([
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
]);
/** Lambda's limit on all environment variables of a function together. */
export const environmentSizeLimit = 4 * 1024;

export interface PackagingInput {
  /** lamp.json's handler: must equal the function's Handler. */
  handler: string;
  /** lamp.json's environment, merged over the template's variables. */
  environment: Record<string, string>;
  /** Where the code package is, replacing every local CodeUri. */
  code: { bucket: string; key: string };
}

function isLocalCodeUri(value: TemplateValue | undefined): value is string {
  return typeof value === "string" && !value.startsWith("s3://");
}

/**
 * The template CloudFormation receives: lamp.json's environment injected into the web function
 * (BREF_RUNTIME stays `fpm`), and every local CodeUri pointing at the uploaded package.
 * Pure: the input template is not changed.
 */
export function packageTemplate(input: Template, options: PackagingInput, source = "template.yaml"): Template {
  const template = structuredClone(input);
  const web = webFunction(template, source);
  const properties = (web.resource.Properties ??= {});

  const handler = functionProperty(template, web.resource, "Handler");
  if (handler !== options.handler) {
    throw new LampError(
      "config",
      `${source}: ${web.id} has Handler ${JSON.stringify(handler ?? null)}, but lamp.json's handler is "${options.handler}".`,
      `Make them the same file: set Handler: ${options.handler} in ${source}, or "handler" in lamp.json.`,
    );
  }

  const environment = (properties.Environment ?? {}) as Record<string, TemplateValue>;
  const templateVariables = (environment.Variables ?? {}) as Record<string, TemplateValue>;
  for (const [name, value] of Object.entries(options.environment)) {
    if (reservedEnvironmentNames.has(name)) {
      throw new LampError("config", `lamp.json: environment.${name} is set by Lambda itself and cannot be overridden.`, `Remove ${name} from lamp.json's environment.`);
    }
    if (name === "BREF_RUNTIME" && value !== "fpm") {
      throw new LampError(
        "config",
        `lamp.json: environment.BREF_RUNTIME is "${value}", but the web function runs Bref's PHP-FPM runtime (BREF_RUNTIME=fpm).`,
        "Remove BREF_RUNTIME from lamp.json's environment.",
      );
    }
  }
  const variables: Record<string, TemplateValue> = { ...templateVariables, ...options.environment, BREF_RUNTIME: "fpm" };
  const size = Object.entries(variables).reduce((total, [name, value]) => total + name.length + (typeof value === "string" ? Buffer.byteLength(value) : JSON.stringify(value).length), 0);
  if (size > environmentSizeLimit) {
    throw new LampError("limit", `The web function's environment is ${size} bytes; Lambda allows ${environmentSizeLimit}.`, "Move large values to SSM Parameter Store or Secrets Manager.");
  }
  properties.Environment = { ...environment, Variables: variables };

  const globals = globalsFunction(template);
  if (isLocalCodeUri(globals.CodeUri)) globals.CodeUri = { Bucket: options.code.bucket, Key: options.code.key };
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== serverlessFunctionType) continue;
    const codeUri = resource.Properties?.CodeUri;
    if (codeUri === undefined) continue;
    if (!isLocalCodeUri(codeUri)) continue;
    if (codeUri.replace(/\/+$/, "") !== ".") {
      throw new LampError("config", `${source}: ${id} has CodeUri "${codeUri}"; lamp packages the whole project.`, `Set CodeUri: . on ${id}.`);
    }
    resource.Properties!.CodeUri = { Bucket: options.code.bucket, Key: options.code.key };
  }
  return template;
}

/** Resources whose explicit names need CAPABILITY_NAMED_IAM. */
const namedIamProperties: Record<string, string> = {
  "AWS::IAM::Role": "RoleName",
  "AWS::IAM::User": "UserName",
  "AWS::IAM::Group": "GroupName",
  "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
  "AWS::IAM::InstanceProfile": "InstanceProfileName",
};

/** What CloudFormation must be told it may do: SAM needs IAM and macro expansion. */
export function capabilitiesFor(template: Template): string[] {
  const capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"];
  const named = Object.values(template.Resources ?? {}).some((resource) => {
    const property = namedIamProperties[resource.Type];
    if (property && resource.Properties?.[property] !== undefined) return true;
    return resource.Type === serverlessFunctionType && typeof resource.Properties?.RoleName === "string";
  });
  if (named) capabilities.push("CAPABILITY_NAMED_IAM");
  return capabilities;
}

/** The output that remembers what was deployed, so an unchanged deploy can skip CloudFormation. */
export const fingerprintOutput = "LampFingerprint";

/**
 * A hash of everything that decides the stack's contents. Give it the template packaged with an
 * empty bucket name: the code is named by its own hash, so the bucket adds nothing, and the
 * hash can then be known before the artifacts bucket is looked up.
 */
export function fingerprintOf(packaged: Template, parameters: Record<string, string> = {}): string {
  const sortedParameters = Object.entries(parameters).sort(([a], [b]) => a.localeCompare(b));
  return createHash("sha256").update(JSON.stringify({ template: packaged, parameters: sortedParameters })).digest("hex");
}

/** Adds the fingerprint as an output (an output, not a stack tag: tags propagate to every resource). */
export function withFingerprint(packaged: Template, fingerprint: string): Template {
  const outputs = (packaged.Outputs ?? {}) as Record<string, TemplateValue>;
  return {
    ...packaged,
    Outputs: { ...outputs, [fingerprintOutput]: { Description: "What lamp deployed last (lets an unchanged deploy skip CloudFormation)", Value: fingerprint } },
  };
}
