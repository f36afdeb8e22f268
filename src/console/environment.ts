import type { Project } from "../project/config.js";
import type { DatabaseVariables } from "../database/variables.js";
import { functionEnvironment } from "../dev/function-environment.js";
import type { LambdaRuntime } from "../dev/lambda-runtime.js";
import { readLocalSecrets } from "../secrets/local.js";
import { consoleHandler } from "../project/command-line.js";

/** The console function's name, as the local stand-in for Lambda's (AWS_LAMBDA_FUNCTION_NAME). */
function consoleFunctionName(stackName: string): string {
  return `${stackName}-console`;
}

/**
 * The console function's environment as PHP sees it locally: the web function's, exactly as lamp
 * dev builds it (functionEnvironment: the template's variables, the database's, lamp.json's, Lambda's
 * own; nothing of the developer's shell but AWS credentials), with what deploy changes for the
 * console function: BREF_RUNTIME=console, its handler and its name. PHP's ini folders are the
 * caller's (see writeIniFolder).
 */
export async function consoleEnvironment(
  project: Project,
  options: { env: NodeJS.ProcessEnv; runtime: LambdaRuntime | undefined; database?: DatabaseVariables; services?: Record<string, string> },
): Promise<NodeJS.ProcessEnv> {
  const { root, config } = project;
  const functionName = consoleFunctionName(config.stackName);
  return {
    // `lamp secret set NAME --local` values as plain variables, as lamp dev gives them.
    ...functionEnvironment({ root, config, runtime: options.runtime, database: options.database, secrets: await readLocalSecrets(root), hostEnv: options.env, handler: consoleHandler, services: options.services }),
    BREF_RUNTIME: "console",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
  };
}
