import { existsSync } from "node:fs";
import path from "node:path";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { findPhpFpm } from "../project/php-fpm-binary.js";
import { checkRuntimeLayer } from "../project/runtime-layer.js";
import { prepareHandler } from "../router/router.js";
import { lambdaExtensions, readOnlyCode } from "./lambda-php.js";
import { readLambdaRuntime, type LambdaRuntime } from "./lambda-runtime.js";
import { integrationTimeoutMs, lambdaPayloadLimit, phpRunLimitMs } from "./limits.js";
import { localStack, type LocalStack } from "./local-stack.js";
import { localPhpBuild } from "./php-extensions.js";
import { probeFile } from "./probe-cache.js";

/**
 * The first phase of `lamp dev`: what the function is (handler, template, PHP, extensions, region)
 * and the production limits that apply to it, read from the project before anything is started.
 */

export interface DevRuntimeOptions {
  project: Project;
  /** --php-fpm: an explicit binary instead of searching PATH and sbin. */
  phpFpm?: string;
  /** --writable: PHP may write into the project. */
  writable?: boolean;
  /** The integration timeout; production's 30 s unless a test needs it shorter. */
  timeoutMs?: number;
  /** The function's Timeout; template.yaml's unless a test needs it shorter. */
  functionTimeoutMs?: number;
}

/** When production stops a request, and how it answers. */
export interface DevTiming {
  /** API Gateway's integration timeout. */
  timeoutMs: number;
  /** The function's Timeout, when template.yaml gives one. */
  functionTimeoutMs?: number;
  /** How long PHP may run: Bref stops it one second before the function's Timeout. */
  phpLimitMs: number;
  /** Bref's limit comes before the gateway's: a 500 (failed invocation), not a 503. */
  brefStopsFirst: boolean;
  /** When the answer goes out, whichever limit comes first. */
  answerAfterMs: number;
  /** Past this, the response cannot be under Lambda's limit whatever its headers: stop reading. */
  maxStdoutBytes: number;
}

export interface DevRuntime {
  project: Project;
  root: string;
  /** The function's handler (the front controller, or lamp's router), absolute. */
  handlerPath: string;
  /** The php-fpm binary. */
  binary: string;
  /** Whether PHP runs with the project read-only (not with --writable, nor where the system cannot). */
  readOnly: boolean;
  /** --writable: the developer asked for writable code (to install a WordPress plugin, say). */
  writable: boolean;
  /** The region lamp deploy would use (--region, then lamp.json): PHP's AWS_REGION says the same. */
  region: string;
  stack: LocalStack;
  runtime: LambdaRuntime | undefined;
  /** The distribution's ini files to load: the extensions of Bref's layer and lamp.json's php.extensions. */
  extensionIniFiles: Awaited<ReturnType<typeof lambdaExtensions>>;
  timing: DevTiming;
}

export async function resolveDevRuntime(options: DevRuntimeOptions, ctx: Context): Promise<DevRuntime> {
  const { root, config } = options.project;
  const handlerPath = path.resolve(root, await prepareHandler(root, config, ctx.ui));
  // Before php-fpm: an app auto_prepend_file beside the layer's would make the banner's "runtime layer on" untrue.
  await checkRuntimeLayer(root);
  const binary = findPhpFpm(options.phpFpm, ctx.env);
  // Started now, read once the template is: it runs the binary twice.
  // Both run programs unless an earlier start's answers are still good (.lamp/dev-probes.json).
  const build = localPhpBuild(binary, probeFile(root));
  const readOnly = !options.writable && (await readOnlyCode("lamp dev", ctx.ui, probeFile(root)));
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = localStack(config.stackName, region);
  const { runtime, warning } = await readLambdaRuntime(root, stack);
  if (warning) ctx.ui.warn(warning);
  const extensionIniFiles = await lambdaExtensions(options.project, runtime, binary, build, ctx.ui);
  warnAboutTemplate(root, runtime, binary, (await build).version, ctx);
  return { project: options.project, root, handlerPath, binary, readOnly, writable: Boolean(options.writable), region, stack, runtime, extensionIniFiles, timing: devTiming(options, runtime) };
}

/**
 * Production's clocks start when the request is sent to PHP: Bref stops PHP one second before the
 * function's Timeout and the invocation fails (500); API Gateway gives up at 30 s (503), whichever
 * comes first. Without a function Timeout to go by, only the gateway's limit applies.
 */
function devTiming(options: Pick<DevRuntimeOptions, "timeoutMs" | "functionTimeoutMs">, runtime: LambdaRuntime | undefined): DevTiming {
  const timeoutMs = options.timeoutMs ?? integrationTimeoutMs;
  const functionTimeoutMs = options.functionTimeoutMs ?? (runtime?.timeoutSeconds !== undefined ? runtime.timeoutSeconds * 1000 : undefined);
  const phpLimitMs = functionTimeoutMs !== undefined ? phpRunLimitMs(functionTimeoutMs) : timeoutMs;
  return {
    timeoutMs,
    functionTimeoutMs,
    phpLimitMs,
    brefStopsFirst: functionTimeoutMs !== undefined && phpLimitMs <= timeoutMs,
    answerAfterMs: Math.min(phpLimitMs, timeoutMs),
    maxStdoutBytes: lambdaPayloadLimit + 64 * 1024,
  };
}

/** What in template.yaml would make production differ from what the developer expects. */
function warnAboutTemplate(root: string, runtime: LambdaRuntime | undefined, binary: string, localVersion: string | undefined, ctx: Context): void {
  if (runtime?.environment.LAMP_ORIGIN_TOKEN && !runtime.originHeaders.some(([name]) => name === "x-lamp-origin") && existsSync(path.join(root, "php", "conf.d", "lamp.ini"))) {
    ctx.ui.warn(
      "template.yaml gives the function LAMP_ORIGIN_TOKEN, but no CloudFront origin sends X-Lamp-Origin: the runtime layer refuses every request (403), here and in Lambda. " +
        "Restore the WebApi origin's OriginCustomHeaders, or delete php/conf.d/lamp.ini to turn the layer off.",
    );
  }
  const localPhp = runtime?.phpVersion ? localVersion : undefined;
  if (runtime?.phpVersion && localPhp && localPhp !== runtime.phpVersion) {
    ctx.ui.warn(`${binary} is PHP ${localPhp}, but template.yaml deploys PHP ${runtime.phpVersion}: what works here may not work in Lambda.`);
  }
}
