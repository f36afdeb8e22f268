import path from "node:path";
import type { Project } from "../core/config.js";
import type { Ui } from "../core/ui.js";
import type { DatabaseVariables } from "../database/variables.js";
import { functionEnvironment } from "../dev/function-environment.js";
import { readLambdaRuntime } from "../dev/lambda-runtime.js";
import { localStack } from "../dev/local-stack.js";
import { iniScanPath } from "../dev/php-fpm.js";
import { readLocalSecrets } from "../secrets/local.js";
import { consoleHandler } from "./command-line.js";

/** The console function's name, as the local stand-in for Lambda's (AWS_LAMBDA_FUNCTION_NAME). */
export function consoleFunctionName(stackName: string): string {
  return `${stackName}-console`;
}

/**
 * The console function's environment as PHP sees it locally: the web function's, exactly as lamp
 * dev builds it (functionEnvironment: the template's variables, the database's, lamp.json's, Lambda's
 * own; nothing of the developer's shell but AWS credentials), with what deploy changes for the
 * console function: BREF_RUNTIME=console, its handler and its name.
 */
export async function consoleEnvironment(
  project: Project,
  options: { env: NodeJS.ProcessEnv; ui: Pick<Ui, "warn">; database?: DatabaseVariables; services?: Record<string, string> },
): Promise<NodeJS.ProcessEnv> {
  const { root, config } = project;
  const { runtime, warning } = await readLambdaRuntime(root, localStack(config.stackName, config.region));
  if (warning) options.ui.warn(warning);
  const functionName = consoleFunctionName(config.stackName);
  return {
    // `lamp secret set NAME --local` values as plain variables, as lamp dev gives them.
    ...functionEnvironment({ root, config, runtime, database: options.database, secrets: await readLocalSecrets(root), hostEnv: options.env, handler: consoleHandler, services: options.services }),
    BREF_RUNTIME: "console",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    // Bref adds the project's php/conf.d to PHP's scan dir in Lambda; so does lamp dev.
    PHP_INI_SCAN_DIR: iniScanPath(undefined, [path.join(root, "php", "conf.d")]),
  };
}
