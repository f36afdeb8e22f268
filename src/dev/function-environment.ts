import type { LampConfig } from "../project/config.js";
import { routerEnvironment } from "../router/router.js";
import type { LambdaRuntime } from "./lambda-runtime.js";

/**
 * The environment the function's PHP runs with, locally: what Lambda gives it and nothing else.
 * The developer's shell (API keys, another project's DATABASE_URL, APP_ENV…) does not reach PHP,
 * because none of it exists in Lambda. `lamp dev` starts php-fpm with it; `lamp run` runs PHP with it.
 */

export interface FunctionEnvironmentInput {
  /** The project folder: LAMBDA_TASK_ROOT locally (/var/task in Lambda). */
  root: string;
  config: Pick<LampConfig, "stackName" | "region" | "environment" | "router" | "documentRoot" | "handler">;
  /** template.yaml's function, as far as lamp dev mirrors it. */
  runtime?: Pick<LambdaRuntime, "environment" | "memorySize">;
  /** The local database's DB_HOST… and DATABASE_URL, when lamp.json has a database. */
  database?: Record<string, string>;
  /** The project's local secrets (`lamp secret set NAME --local`, .lamp/secrets.json): in Lambda, SSM's values. */
  secrets?: Record<string, string>;
  /** The developer's environment: only AWS credentials are taken from it (see below). */
  hostEnv: NodeJS.ProcessEnv;
  /** Lambda's _HANDLER: the front controller, relative to the code root. */
  handler: string;
  /**
   * What lamp deploy adds to the function for lamp.json's "wordpress" and "mail" (the bucket, the
   * sender), and under lamp dev the addresses and keys of its AWS stand-ins (src/dev/local-aws.ts).
   */
  services?: Record<string, string>;
}

/**
 * In Lambda the function's role puts these in the environment. Locally the developer's own
 * credentials stand in for the role when they are exported in the shell (as `sam local` passes
 * the resolved profile's): `eval "$(aws configure export-credentials --format env)"` before
 * `lamp dev`. Profiles and ~/.aws are not read: PHP has no HOME, as in Lambda.
 */
const credentialVariables = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/** Lambda's PATH for provided.al2023 is /var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin: the system folders of it. */
const functionPath = "/usr/local/bin:/usr/bin:/bin";

/**
 * The variables Lambda sets for every function (AWS "Defined runtime environment variables"),
 * without AWS_EXECUTION_ENV, which AWS leaves undefined for OS-only runtimes (provided.*).
 */
export function lambdaVariables(options: { root: string; region: string; functionName: string; memorySize?: number; handler: string }): Record<string, string> {
  return {
    LAMBDA_TASK_ROOT: options.root,
    _HANDLER: options.handler,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySize ?? 1024),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    TZ: ":UTC",
    LANG: "en_US.UTF-8",
    PATH: functionPath,
  };
}

/** The web function's name, as lamp's template names it. */
function webFunctionName(stackName: string): string {
  return `${stackName}-web`;
}

/**
 * The function's environment, in Lambda's order of precedence: template.yaml's variables, the
 * database's, lamp.json's `environment` (deploy merges it over the template's), the router's, then
 * Lambda's own, which no configuration can override.
 */
export function functionEnvironment(input: FunctionEnvironmentInput): Record<string, string> {
  const credentials: Record<string, string> = {};
  for (const name of credentialVariables) {
    const value = input.hostEnv[name];
    if (value) credentials[name] = value;
  }
  return {
    ...input.runtime?.environment,
    ...input.database,
    ...input.config.environment,
    ...input.secrets,
    ...routerEnvironment(input.config),
    ...input.services,
    ...credentials,
    ...lambdaVariables({
      root: input.root,
      region: input.config.region,
      functionName: webFunctionName(input.config.stackName),
      memorySize: input.runtime?.memorySize,
      handler: input.handler,
    }),
  };
}
