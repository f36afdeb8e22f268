import { mkdtempSync, rmSync } from "node:fs";
import os, { constants } from "node:os";
import path from "node:path";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { findExecutable } from "../core/executables.js";
import { escalate, spawnWatched, type WatchedStart } from "../core/supervisor.js";
import { databaseForCommand } from "../database/dev.js";
import { lambdaExtensions, makeRunFolders, probeFile, readOnlyCode, readOnlyCommand, writeIniFolder } from "../dev/lambda-php.js";
import { startProjectAws } from "../dev/local-aws.js";
import { bundledSendmailPath } from "../mail/files.js";
import { readLambdaRuntime } from "../dev/lambda-runtime.js";
import { localStack } from "../dev/local-stack.js";
import { localPhpBuild } from "../dev/php-extensions.js";
import { consoleEnvironment } from "./environment.js";
import { ensureConsoleFile } from "./handler.js";
import { consoleTimeout } from "./apply-console.js";

export interface LocalRunOptions {
  project: Project;
  /** The script and its arguments. */
  args: string[];
  /**
   * Where the script's stdout and stderr go: file descriptors of lamp's own process (1 and 2; with
   * --json both go to 2, so stdout holds the JSON only). Stdin is always closed, as in Lambda.
   */
  output: [number, number];
  /**
   * Whether the project is read-only for PHP, as /var/task is in Lambda. Undefined: read-only where
   * the system allows it (one line says so where it does not); false with --writable. lamp dev's
   * schedules pass what lamp dev decided.
   */
  readOnly?: boolean;
}

export interface LocalRunResult {
  exitCode: number;
  durationMs: number;
}

/** How long a script gets after Ctrl-C or a timeout to stop on its own before it is killed. */
const stopGraceMs = 10_000;

/** The exit code a shell reports for a process ended by a signal: 128 + its number. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Runs `php lamp/console.php <script> [args...]` with the local PHP, as the console function runs it
 * in Lambda: its environment, PHP as Bref's layer sets it up (its ini settings, exactly its
 * extensions and php.extensions, the project's php/conf.d, read-only code: src/dev/lambda-php.ts,
 * shared with lamp dev), the local database (lamp dev's, or one started for the run and stopped
 * after), stdin closed, stopped at console.timeout. Returns the script's exit code; Ctrl-C stops the
 * script, then the run ends as cancelled (130).
 */
export async function runLocal(options: LocalRunOptions, ctx: Context): Promise<LocalRunResult> {
  const { project } = options;
  const php = findExecutable(["php"], ctx.env);
  if (!php) throw new LampError("dependency", "No php on PATH: lamp run runs your script with the local PHP.", "Install PHP's command-line interpreter (Debian: apt-get install php-cli).");
  // Started now, read once the template is: it runs php twice.
  const build = localPhpBuild(php, probeFile(project.root));
  const handler = await ensureConsoleFile(project.root, ctx.ui);
  const readOnly = options.readOnly ?? (await readOnlyCode("lamp run", ctx.ui, probeFile(project.root)));
  // PHP's AWS_REGION is the region lamp deploy would use (--region, then lamp.json), as under lamp dev.
  const config = { ...project.config, region: ctx.aws.region(project.config.region) ?? project.config.region };
  const { runtime, warning } = await readLambdaRuntime(project.root, localStack(config.stackName, config.region));
  if (warning) ctx.ui.warn(warning);
  // Before the database starts: a php.extensions that cannot work here stops the run first.
  const extensionIniFiles = await lambdaExtensions(project, runtime, php, build, ctx.ui);
  const directory = mkdtempSync(path.join(os.tmpdir(), "lamp-run-"));
  const database = await databaseForCommand(project, ctx).catch((error: unknown) => {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  });
  // The bucket and SES stand-ins, as lamp dev gives them to PHP: media land in .lamp/bucket, mail is caught.
  const aws = await startProjectAws(project, config.region, {
    now: () => ctx.clock.now(),
    onMail: (line) => ctx.ui.info(line),
    onProblem: (line) => ctx.ui.warn(line),
  }).catch(async (error: unknown) => {
    await database?.stop();
    rmSync(directory, { recursive: true, force: true });
    throw error;
  });
  try {
    const { iniDir, tmpDir } = makeRunFolders(directory);
    const env = await consoleEnvironment({ ...project, config }, { env: ctx.env, runtime, database: database?.variables, services: aws.variables });
    // mail() of any script is caught, never sent from a laptop (the project's lamp-mail.ini, when there, says the same).
    const iniSettings = { sendmail_path: `"php ${bundledSendmailPath}"` };
    env.PHP_INI_SCAN_DIR = await writeIniFolder({ iniDir, tmpDir, extensionIniFiles, scanAfter: [path.join(project.root, "php", "conf.d")], iniSettings });
    const start: WatchedStart = {
      command: [php, handler, ...options.args],
      cwd: project.root,
      env,
      // Not even a SIGKILL of lamp leaves the script running, or this run's folder behind.
      watchdogName: "lamp-run-watchdog",
      graceMs: stopGraceMs,
      orphanFolder: directory,
      wrap: readOnly ? (script, args) => readOnlyCommand(project.root, script, args) : undefined,
      output: options.output,
    };
    return await runPhp(start, consoleTimeout(project.config) * 1000, ctx);
  } finally {
    await aws.close();
    await database?.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The child's life: started under the watchdog, followed to its end, stopped on Ctrl-C or at the timeout. */
async function runPhp(start: WatchedStart, timeoutMs: number, ctx: Context): Promise<LocalRunResult> {
  const started = ctx.clock.now();
  const child = spawnWatched(start);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, exitSignal) => {
      // What the script left running (anything it forked) and the watchdog end with it, as a Lambda invocation's do.
      if (child.pid !== undefined) signalGroup(child.pid);
      child.stdin?.destroy();
      resolve([exitCode, exitSignal]);
    });
  });
  let timedOut = false;
  // The supervisor's escalation (SIGTERM, SIGKILL after the grace period). The script has a process group of
  // its own: the terminal's Ctrl-C reaches lamp, which stops it so.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void escalate({ ask: () => child.kill("SIGTERM"), force: () => child.kill("SIGKILL"), ended: exited.catch(() => {}), graceMs: stopGraceMs, clock: ctx.clock });
  };
  // Bref stops the command a second before the function's timeout.
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, Math.max(timeoutMs - 1000, 1000));
  ctx.signal.addEventListener("abort", stop, { once: true });
  try {
    const [code, signal] = await exited;
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timedOut) {
      throw new LampError(
        "failed",
        `The script ran past lamp.json's console.timeout (${timeoutMs / 1000} s) and was stopped, as Lambda would stop it.`,
        "Make it shorter (split the work, or run it in batches), or raise console.timeout (at most 900).",
      );
    }
    return { exitCode: code ?? signalExitCode(signal ?? "SIGKILL"), durationMs: ctx.clock.now() - started };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", stop);
  }
}

/** SIGKILL to a process group, if any of it is left. */
function signalGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}
