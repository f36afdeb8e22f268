import { existsSync } from "node:fs";
import path from "node:path";
import { isLampError } from "../core/errors.js";
import { functionProperty, literalLayers, readTemplate, templateFileName, webFunction, type Template, type TemplateValue } from "../project/sam-template.js";
import { templateArchitecture } from "../project/php-extensions.js";
import { resolveLocally, withTemplateParameters, type LocalStack } from "./local-stack.js";

/** What template.yaml says about the Lambda the app will run in, as far as `lamp dev` can mirror it. */
export interface LambdaRuntime {
  /**
   * The function's environment variables: literal ones, and those derived from the stack alone
   * (LAMP_ORIGIN_TOKEN from the template's parameters, random per run), resolved for the local stack. Values that need a deployed
   * resource (`!Ref SomeTable`) are left out.
   */
  environment: Record<string, string>;
  /** "8.4" from a Bref layer such as `arm-php-84`, when the template names one literally. */
  phpVersion?: string;
  /** The function's architecture (Lambda's default x86_64 when the template names none). */
  architecture: string;
  /** MemorySize, when literal (Lambda tells PHP as AWS_LAMBDA_FUNCTION_MEMORY_SIZE). */
  memorySize?: number;
  /** The custom headers CloudFront adds on its way to the API origin (name, value), resolved for the local stack. */
  originHeaders: Array<[string, string]>;
  /** The function's Timeout in seconds (Lambda's default of 3 when it sets none); undefined when not a literal. */
  timeoutSeconds?: number;
}

/** What Lambda gives a function whose template sets no Timeout. */
const lambdaDefaultTimeoutSeconds = 3;

interface CloudFrontOrigin {
  CustomOriginConfig?: unknown;
  OriginCustomHeaders?: Array<{ HeaderName?: TemplateValue; HeaderValue?: TemplateValue }>;
}

/** The origin custom headers of every custom (non-S3) origin of the template's distributions. */
function originHeadersOf(template: Template, stack: LocalStack): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.Type !== "AWS::CloudFront::Distribution") continue;
    const config = resource.Properties?.DistributionConfig as { Origins?: CloudFrontOrigin[] } | undefined;
    for (const origin of config?.Origins ?? []) {
      if (!origin.CustomOriginConfig) continue;
      for (const header of origin.OriginCustomHeaders ?? []) {
        const name = resolveLocally(header.HeaderName, stack);
        const value = resolveLocally(header.HeaderValue, stack);
        if (name && value !== undefined) headers.push([name.toLowerCase(), value]);
      }
    }
  }
  return headers;
}

export function lambdaRuntimeOf(template: Template, templateStack: LocalStack): LambdaRuntime {
  // One run's parameter values for both sides: the origin token the function accepts is the one CloudFront sends.
  const stack = withTemplateParameters(templateStack, template as Parameters<typeof withTemplateParameters>[1]);
  const { resource } = webFunction(template);
  const variables = (functionProperty(template, resource, "Environment") as { Variables?: Record<string, TemplateValue> } | undefined)?.Variables ?? {};
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    const resolved = resolveLocally(value, stack);
    if (resolved !== undefined) environment[name] = resolved;
  }
  const layer = literalLayers(template, resource)
    .map((arn) => arn.match(/:layer:(?:arm-)?php-(\d)(\d+)(?:-fpm)?:\d+$/))
    .find((match) => match);
  const memory = functionProperty(template, resource, "MemorySize");
  const timeout = functionProperty(template, resource, "Timeout");
  return {
    environment,
    phpVersion: layer ? `${layer[1]}.${layer[2]}` : undefined,
    architecture: templateArchitecture(template),
    memorySize: typeof memory === "number" ? memory : undefined,
    originHeaders: originHeadersOf(template, stack),
    timeoutSeconds: timeout === undefined ? lambdaDefaultTimeoutSeconds : typeof timeout === "number" && timeout > 0 ? timeout : undefined,
  };
}

/**
 * The project's template.yaml, as far as it matters locally. A missing template is not
 * `lamp dev`'s business; a broken one is deploy's to report: here it only costs a warning.
 */
export async function readLambdaRuntime(root: string, stack: LocalStack): Promise<{ runtime?: LambdaRuntime; warning?: string }> {
  if (!existsSync(path.join(root, templateFileName))) return {};
  try {
    return { runtime: lambdaRuntimeOf(await readTemplate(root), stack) };
  } catch (error) {
    if (!isLampError(error)) throw error;
    return { warning: `${error.message} — PHP gets lamp.json's environment only.` };
  }
}
