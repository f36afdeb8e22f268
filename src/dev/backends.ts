import path from "node:path";
import { performance } from "node:perf_hooks";
import type { Context } from "../core/context.js";
import { startDevDatabase } from "../database/dev.js";
import { describeDanglingLinks, findDanglingLinks } from "../project/dangling-links.js";
import { missingExtensionHint, requestedExtensions } from "../project/php-extensions.js";
import { readLocalSecrets } from "../secrets/local.js";
import { warnSecretLookingEnvironment } from "../secrets/warn.js";
import type { DevRuntime } from "./dev-runtime.js";
import { functionEnvironment } from "./function-environment.js";
import { startPhpFpm, type PhpFpmProcess } from "./php-fpm.js";
import { startProjectAws } from "./local-aws.js";
import { bundledSendmailPath } from "../mail/files.js";
import { ensureManagedFiles } from "../project/managed-files.js";
import { maintainedFiles } from "../wordpress/files.js";
import { watchFileSessions, watchInstanceSessions, watchProjectWrites } from "./project-writes.js";

/**
 * The second phase of `lamp dev`: what answers behind the gateway — the project's database, then
 * php-fpm with the function's environment — and the watchers that say where PHP does what would
 * break in Lambda (writes into the code, sessions kept in one instance's /tmp).
 */

/** Where `lamp dev` writes what it has to say: request lines, PHP's output, limits hit. */
export interface DevLog {
  request(method: string, path: string, status: number, ms: number): void;
  php(line: string): void;
  limit(message: string): void;
  debug(message: string): void;
  /** A message PHP's mail() handed over, caught (one line: to, subject, file). */
  mail?(line: string): void;
  /** Writes out anything held back. */
  flush?(): void;
}

export interface DevBackends {
  fpm: PhpFpmProcess;
  database: Awaited<ReturnType<typeof startDevDatabase>>;
  /** Stand-ins of the bucket and SES that PHP's AWS client talks to (.lamp/bucket, .lamp/mail). */
  localAws: Awaited<ReturnType<typeof startProjectAws>>;
  /** The function's environment, as PHP gets it. */
  phpEnv: NodeJS.ProcessEnv;
  /** Resolves when php-fpm or the database dies on its own (lamp dev cannot go on without them). */
  died: Promise<string>;
  /** Resolves once every folder of the project is watched for PHP's writes. */
  watchingWrites: Promise<void>;
  /** PHP starts and ends a request: writes into the project meanwhile are PHP's. */
  phpBusy(delta: 1 | -1): void;
  stop(): Promise<void>;
}

/** Folders of the project that are not the code's: lamp's own, version control, tools. */
const lampIgnoredFolders = [".lamp", ".git", ".hg", ".svn", "node_modules", ".idea", ".vscode", ".aws-sam"];
/** How long after PHP answers a change still counts as its own (file events arrive within milliseconds). */
const phpWriteGraceMs = 500;

export async function startBackends(devRuntime: DevRuntime, workers: number, ctx: Context, log: DevLog): Promise<DevBackends> {
  let resolveDied!: (reason: string) => void;
  const died = new Promise<string>((resolve) => (resolveDied = resolve));
  // lamp's WordPress files, AWS client and sendmail script, before anything is started that a failure would have to stop.
  const maintained = await maintainedFiles(devRuntime.project.config);
  await ensureManagedFiles(devRuntime.root, maintained.files, maintained.why, ctx.ui);
  // Before php-fpm, so PHP gets its variables (as the function gets the cluster's); stopped with everything else.
  const database = await startDevDatabase(devRuntime.project, ctx, { debug: (line) => log.debug(line), died: (reason) => resolveDied(reason) });
  // Media and mail: PHP's AWS client talks to lamp dev's stand-ins (.lamp/bucket, .lamp/mail).
  const localAws = await startProjectAws(devRuntime.project, devRuntime.region, {
    now: () => ctx.clock.now(),
    onMail: (line) => (log.mail ?? log.php)(line),
    onProblem: (line) => log.limit(line),
  }).catch(async (error: unknown) => {
    await database?.stop();
    throw error;
  });
  const services = {
    ...localAws.variables,
    // wp-config.php allows plugin and theme installs only then (DISALLOW_FILE_MODS).
    ...(devRuntime.writable ? { LAMP_CODE_WRITABLE: "1" } : {}),
  };
  const phpEnv = await phpEnvironment(devRuntime, database?.variables, services, ctx);
  const fpm = await startFunctionPhp(devRuntime, workers, phpEnv, ctx, log, resolveDied).catch(async (error: unknown) => {
    await localAws.close();
    await database?.stop();
    throw error;
  });
  const watchers = watchPhp(devRuntime, fpm, log);
  // Named once at start: a link to nothing is a 404 or a failed include here and in Lambda alike.
  void findDanglingLinks(devRuntime.root, lampIgnoredFolders).then(
    (links) => links.length > 0 && log.limit(describeDanglingLinks(links, "lamp dev serves and runs nothing through them, and lamp deploy leaves them out")),
    () => {},
  );
  return {
    fpm,
    database,
    localAws,
    phpEnv,
    died,
    watchingWrites: watchers.ready,
    phpBusy: watchers.phpBusy,
    async stop() {
      watchers.close();
      await fpm.stop();
      await localAws.close();
      await database?.stop();
    },
  };
}

/**
 * The function's environment and nothing of the developer's shell (see function-environment.ts);
 * `lamp secret set NAME --local` values as plain variables, where Lambda has bref/secrets-loader resolve them.
 */
async function phpEnvironment(devRuntime: DevRuntime, databaseVariables: Record<string, string> | undefined, services: Record<string, string>, ctx: Context): Promise<NodeJS.ProcessEnv> {
  const { root, project, region, runtime } = devRuntime;
  warnSecretLookingEnvironment(ctx, project.config.environment);
  return functionEnvironment({
    root,
    // PHP's AWS_REGION is the region lamp deploy would use (--region, then lamp.json).
    config: { ...project.config, region },
    runtime,
    database: databaseVariables,
    secrets: await readLocalSecrets(root),
    hostEnv: ctx.env,
    handler: path.relative(root, devRuntime.handlerPath),
    services,
  });
}

function startFunctionPhp(devRuntime: DevRuntime, workers: number, env: NodeJS.ProcessEnv, ctx: Context, log: DevLog, died: (reason: string) => void): Promise<PhpFpmProcess> {
  const { root } = devRuntime;
  const hints = phpLogHints(requestedExtensions(devRuntime.project.config));
  return startPhpFpm({
    binary: devRuntime.binary,
    workers,
    // Bref adds the project's php/conf.d to PHP's scan dir in Lambda.
    iniScanDirs: [path.join(root, "php", "conf.d")],
    extensionIniFiles: devRuntime.extensionIniFiles,
    readOnlyRoot: devRuntime.readOnly ? root : undefined,
    // mail() of every app is caught (lamp/sendmail.php to the SES stand-in); a project's lamp-mail.ini says the same.
    iniSettings: { sendmail_path: `"php ${bundledSendmailPath}"` },
    cwd: root,
    env,
    clock: ctx.clock,
    onLog: (line, quiet) => {
      if (quiet) return log.debug(`php-fpm: ${line}`);
      log.php(line);
      const hint = hints(line);
      if (hint) log.limit(hint);
    },
    onExit: (code, signal) => died(`php-fpm exited unexpectedly (${signal ?? `exit code ${code}`}): lamp dev stopped. Check the PHP output above.`),
  });
}

/** Lines that follow a PHP message to say what it means in Lambda: each said once per run. */
function phpLogHints(requested: readonly string[]): (line: string) => string | undefined {
  const said = new Set<string>();
  return (line) => {
    if (line.includes("Read-only file system")) {
      if (said.has("erofs")) return undefined;
      said.add("erofs");
      return "PHP tried to write into the project, which is read-only as /var/task is in Lambda: the same write fails there. Write to sys_get_temp_dir() (/tmp: per instance, temporary), the database or S3; `lamp dev --writable` allows it locally.";
    }
    if (!line.includes("undefined function") && !line.includes("not found")) return undefined;
    const hint = missingExtensionHint(line, requested);
    if (!hint || said.has(hint.extension)) return undefined;
    said.add(hint.extension);
    return hint.message;
  };
}

/**
 * Writes into the project while PHP works are PHP's: /var/task is read-only in Lambda. With the
 * project read-only they fail instead, and PHP's own warning says so (hinted by phpLogHints).
 * Sessions stored as files, or carried to an instance that lacks them, are lost in Lambda.
 */
function watchPhp(devRuntime: DevRuntime, fpm: PhpFpmProcess, log: DevLog): { ready: Promise<void>; phpBusy(delta: 1 | -1): void; close(): void } {
  let phpRequests = 0;
  let phpIdleSince = -Infinity;
  const writes = devRuntime.readOnly ? { ready: Promise.resolve(), close: () => {} } : watchProjectWrites({
    root: devRuntime.root,
    ignoredFolders: lampIgnoredFolders,
    isPhpBusy: () => phpRequests > 0 || performance.now() - phpIdleSince < phpWriteGraceMs,
    onWrite: (relativePath) =>
      log.limit(
        `PHP wrote ${relativePath} in the project folder: in Lambda the code is read-only (/var/task), so this write fails there. ` +
          "Write to sys_get_temp_dir() (/tmp: per instance, temporary) or to S3.",
      ),
    onLimit: (message) => log.debug(`lamp dev: ${message}`),
  });
  const sessionsFirst = watchFileSessions(fpm.instanceTmpDirs, () =>
    log.limit(
      "PHP stored a session as a file in /tmp: in Lambda each instance has its own /tmp, so sessions (logins, flash messages, CSRF tokens) " +
        "are lost whenever a request reaches another instance. Keep them in a shared store: with a database in lamp.json the runtime layer stores sessions there.",
    ),
  );
  const sessionsCrossing = watchInstanceSessions(fpm.instanceTmpDirs, (from, to) =>
    log.limit(
      `A request carried a session started on instance ${from + 1}, but reached instance ${to + 1}, whose /tmp does not have it: the session is lost, as in Lambda. ` +
        "Store sessions where every instance sees them: add a database (`lamp init --database`, or a \"database\" section in lamp.json: the runtime layer keeps sessions there) or use cookie sessions.",
    ),
  );
  return {
    ready: writes.ready,
    phpBusy(delta) {
      phpRequests += delta;
      if (delta < 0) phpIdleSince = performance.now();
    },
    close() {
      writes.close();
      sessionsFirst.close();
      sessionsCrossing.close();
    },
  };
}
