import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { isLampError } from "../core/errors.js";
import { functionProperty, literalLayers, readTemplate, templateFileName, webFunction, type Template } from "../project/template.js";

/** What template.yaml says about the Lambda the app will run in, as far as `lamp dev` can mirror it. */
export interface LambdaRuntime {
  /** The function's literal environment variables (BREF_RUNTIME and the like); `!Ref` values are left out. */
  environment: Record<string, string>;
  /** "8.4" from a Bref layer such as `arm-php-84`, when the template names one literally. */
  phpVersion?: string;
}

export function lambdaRuntimeOf(template: Template): LambdaRuntime {
  const { resource } = webFunction(template);
  const variables = (functionProperty(template, resource, "Environment") as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const environment = Object.fromEntries(
    Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  const layer = literalLayers(template, resource)
    .map((arn) => arn.match(/:layer:(?:arm-)?php-(\d)(\d+)(?:-fpm)?:\d+$/))
    .find((match) => match);
  return { environment, phpVersion: layer ? `${layer[1]}.${layer[2]}` : undefined };
}

/**
 * The project's template.yaml, as far as it matters locally. A missing template is not
 * `lamp dev`'s business; a broken one is deploy's to report: here it only costs a warning.
 */
export async function readLambdaRuntime(root: string): Promise<{ runtime?: LambdaRuntime; warning?: string }> {
  if (!existsSync(path.join(root, templateFileName))) return {};
  try {
    return { runtime: lambdaRuntimeOf(await readTemplate(root)) };
  } catch (error) {
    if (!isLampError(error)) throw error;
    return { warning: `${error.message} — PHP gets lamp.json's environment only.` };
  }
}

/** "8.2" for a php-fpm 8.2 binary, from `php-fpm -v`; undefined when it cannot be told. */
export function phpVersionOf(binary: string): string | undefined {
  const result = spawnSync(binary, ["-v"], { encoding: "utf8", timeout: 5_000 });
  return result.stdout?.match(/^PHP (\d+\.\d+)\./)?.[1];
}
