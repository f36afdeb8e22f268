import path from "node:path";
import type { Project } from "../core/config.js";
import type { Ui } from "../core/ui.js";
import type { DatabaseVariables } from "../database/variables.js";
import { readLambdaRuntime } from "../dev/lambda-runtime.js";
import { localStack } from "../dev/local-stack.js";
import { iniScanPath } from "../dev/php-fpm.js";
import { lambdaVariables } from "../dev/server.js";
import { routerEnvironment } from "../router/router.js";

/**
 * The console function's environment as PHP sees it locally, built as `lamp dev` builds the web
 * function's: the template's variables, the database's, lamp.json's, then what Lambda sets itself,
 * with BREF_RUNTIME=console as deploy gives the console function. The one place `lamp run` and lamp
 * dev's schedules get it from (to point at lamp dev's own function once it has one).
 */
export async function consoleEnvironment(
  project: Project,
  options: { env: NodeJS.ProcessEnv; ui: Pick<Ui, "warn">; database?: DatabaseVariables },
): Promise<NodeJS.ProcessEnv> {
  const { root, config } = project;
  const { runtime, warning } = await readLambdaRuntime(root, localStack(config.stackName, config.region));
  if (warning) options.ui.warn(warning);
  return {
    ...options.env,
    ...runtime?.environment,
    ...options.database,
    ...config.environment,
    ...routerEnvironment(config),
    ...lambdaVariables({ root, region: config.region, functionName: `${config.stackName}-console`, memorySize: runtime?.memorySize }),
    BREF_RUNTIME: "console",
    // Bref adds the project's php/conf.d to PHP's scan dir in Lambda; so does lamp dev.
    PHP_INI_SCAN_DIR: iniScanPath(options.env.PHP_INI_SCAN_DIR, [path.join(root, "php", "conf.d")]),
  };
}
