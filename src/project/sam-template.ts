import YAML from "yaml";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";

/**
 * template.yaml as data: parsed with CloudFormation's short-form tags turned into their long
 * form (`!Ref X` -> `{ "Ref": "X" }`), and what it says about the web function. Project
 * knowledge that `lamp deploy` (which packages the template) and `lamp dev` (which mirrors the
 * function locally) both read, so neither depends on the other.
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

export const serverlessFunctionType = "AWS::Serverless::Function";
/** The logical id `lamp init` gives the PHP-FPM function. */
const webFunctionId = "WebFunction";

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

export function globalsFunction(template: Template): Record<string, TemplateValue> {
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

/**
 * A value the template needs but only a deploy knows (a certificate's ARN, a secret token):
 * declared as a CloudFormation parameter, so the packaged template is the same whoever deploys
 * it (`lamp deploy` passes the values; `sam deploy --parameter-overrides` does too).
 */
export interface TemplateParameter {
  name: string;
  description: string;
  /** Kept out of the console, DescribeStacks and events (a token, a password). */
  noEcho?: boolean;
  allowedPattern?: string;
  constraintDescription?: string;
}

/** Declares the parameter in the template (mutating it) and returns the `Ref` to use where its value goes. */
export function declareParameter(template: Template, parameter: TemplateParameter): TemplateValue {
  const parameters = (template.Parameters ??= {}) as Record<string, TemplateValue>;
  if (parameters[parameter.name] !== undefined) {
    throw new LampError("config", `template.yaml declares the parameter ${parameter.name}, which lamp adds.`, `Rename the parameter ${parameter.name} in template.yaml.`);
  }
  parameters[parameter.name] = {
    Type: "String",
    Description: parameter.description,
    ...(parameter.noEcho ? { NoEcho: true } : {}),
    ...(parameter.allowedPattern ? { AllowedPattern: parameter.allowedPattern } : {}),
    ...(parameter.constraintDescription ? { ConstraintDescription: parameter.constraintDescription } : {}),
  };
  return { Ref: parameter.name };
}
