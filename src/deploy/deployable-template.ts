import { createHash } from "node:crypto";
import { applyMail } from "../mail/apply-mail.js";
import { applyWordPress } from "../wordpress/apply-wordpress.js";
import { reservedEnvironmentNames } from "../project/config.js";
import { LampError } from "../core/errors.js";
import type { LampConfig } from "../project/config.js";
import { applyDatabase } from "../database/apply-database.js";
import { applyConsole } from "../console/apply-console.js";
import { applyDomain } from "../domain/apply-domain.js";
import { applyExtensions, type ExtraLayerTable } from "../project/php-extensions.js";
import { functionProperty, globalsFunction, serverlessFunctionType, webFunction, type Template, type TemplateValue } from "../project/sam-template.js";
import { effectiveHandler, routerEnvironment } from "../router/router.js";
import { applyRouter } from "../router/apply-router.js";

/**
 * The template as deployed: lamp.json's environment injected, code pointing at the uploaded
 * package, sent as compact JSON (CloudFormation and the SAM transform take JSON as well as
 * YAML, and JSON is smaller).
 */

/** The deployable form: compact JSON, byte-identical for identical data. */
export function serializeTemplate(template: Template): string {
  return JSON.stringify(template);
}

/** Lambda's limit on all environment variables of a function together. */
const environmentSizeLimit = 4 * 1024;

export interface PackagingInput {
  /** lamp.json's handler: must equal the function's Handler. */
  handler: string;
  /** lamp.json's environment, merged over the template's variables. */
  environment: Record<string, string>;
  /** Where the code package is, replacing every local CodeUri. */
  code: CodeLocation;
}

/**
 * The code package: uploaded (what `lamp deploy` sends), or a zip beside the template (what
 * `lamp package` writes, a path relative to the template that `sam deploy` and
 * `aws cloudformation package` upload and replace). The only difference between the two templates.
 */
export type CodeLocation = { bucket: string; key: string } | { file: string };

function codeUriOf(code: CodeLocation): TemplateValue {
  return "file" in code ? code.file : { Bucket: code.bucket, Key: code.key };
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
  if (isLocalCodeUri(globals.CodeUri)) globals.CodeUri = codeUriOf(options.code);
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== serverlessFunctionType) continue;
    const codeUri = resource.Properties?.CodeUri;
    if (codeUri === undefined) continue;
    if (!isLocalCodeUri(codeUri)) continue;
    if (codeUri.replace(/\/+$/, "") !== ".") {
      throw new LampError("config", `${source}: ${id} has CodeUri "${codeUri}"; lamp packages the whole project.`, `Set CodeUri: . on ${id}.`);
    }
    resource.Properties!.CodeUri = codeUriOf(options.code);
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

/**
 * THE template a deploy sends, built from the project's template.yaml and lamp.json in a fixed
 * order (router, database, extensions, environment and code, domain, console), pure. `lamp deploy`
 * and `lamp package` both call this and nothing else, so what `lamp package` shows is what
 * `lamp deploy` sends: they differ only in `code` and in the values of the template's Parameters.
 */
export function deployableTemplate(template: Template, config: LampConfig, code: CodeLocation, extraLayers: ExtraLayerTable): Template {
  const packaging: PackagingInput = { handler: effectiveHandler(config), environment: { ...config.environment, ...routerEnvironment(config) }, code };
  const withCapabilities = applyMail(applyWordPress(applyExtensions(applyDatabase(applyRouter(template, config), config), config, extraLayers), config), config);
  return applyConsole(applyDomain(packageTemplate(withCapabilities, packaging), config), config);
}

/**
 * The change set's values for lamp's deploy-time parameters (name -> value, one line each where
 * the deploy knows them), for those the template declares. Parameters with their own rules (the
 * origin token's slots, deploy/origin-token.ts) and the user's own (with a Default) are not here.
 */
export function parameterValues(template: Template, values: Record<string, string | undefined>): { ParameterKey: string; ParameterValue: string }[] {
  const declared = (template.Parameters ?? {}) as Record<string, unknown>;
  return Object.entries(values).flatMap(([name, value]) => (value !== undefined && name in declared ? [{ ParameterKey: name, ParameterValue: value }] : []));
}
