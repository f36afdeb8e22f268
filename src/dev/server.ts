import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError, errnoCode } from "../core/errors.js";
import { effectiveHandler } from "../router/router.js";
import { strandedUploads } from "../wordpress/files.js";
import { startBackends, type DevBackends, type DevLog } from "./backends.js";
import { resolveDevRuntime, type DevRuntime } from "./dev-runtime.js";
import { Gateway } from "./gateway.js";
import { HttpServer } from "./http/server.js";
import { lambdaPayloadLimit } from "./limits.js";

/**
 * `lamp dev`: the production request path on the developer's machine, in four phases — what the
 * function is (dev-runtime.ts), what answers behind the gateway (backends.ts: the database, php-fpm),
 * what CloudFront, the bucket and API Gateway do with each request (gateway.ts), and the HTTP server
 * that listens.
 */

export type { DevLog } from "./backends.js";

/** Request lines held before a write, at most (see uiDevLog). */
const maxPendingLines = 256;
export { hasEncodedNul } from "./gateway.js";
export { lambdaVariables } from "./function-environment.js";

export interface DevServerOptions {
  project: Project;
  port: number;
  host: string;
  workers: number;
  /** --php-fpm: an explicit binary instead of searching PATH and sbin. */
  phpFpm?: string;
  /**
   * --writable: PHP may write into the project (each write is reported). By default the project is
   * read-only for PHP, as /var/task is in Lambda (where the system allows it: see readOnlyCode).
   */
  writable?: boolean;
  /** The integration timeout; production's 30 s unless a test needs it shorter. */
  timeoutMs?: number;
  /** The function's Timeout; template.yaml's unless a test needs it shorter. */
  functionTimeoutMs?: number;
}

export interface DevServer {
  url: string;
  port: number;
  phpFpmBinary: string;
  phpFpmPid: number;
  /** php-fpm's unix sockets (one per worker), inside the run's temp dir. */
  phpFpmSockets: string[];
  /** The local database, when lamp.json has a `database` section. */
  database?: { address: string; version: string; pid: number; socketPath: string };
  /** The folder of the instances' /tmp folders for this run, removed at close. */
  phpTmpDir: string;
  /** Each instance's (php-fpm worker's) /tmp, in the order of phpFpmSockets. */
  instanceTmpDirs: string[];
  /** Whether PHP runs with the project read-only (false with --writable, or where the system cannot). */
  readOnly: boolean;
  /** How long PHP may run before production stops it (Bref's, or API Gateway's limit), in ms. */
  phpTimeLimitMs: number;
  /** The made-up API Gateway domain PHP gets as Host. */
  apiDomain: string;
  /** Resolves once every folder of the project is watched for PHP's writes. */
  watchingWrites: Promise<void>;
  /** Resolves when php-fpm dies on its own (the server cannot go on without it). */
  readonly died: Promise<string>;
  close(): Promise<void>;
}

/**
 * Request log lines on stdout; PHP's output and limit hits as they happen. Request lines are
 * written at most every 50 ms, several in one write: under load a write per line costs more
 * than the proxying itself. With --json, stdout holds the one JSON result and the log goes to stderr.
 */
export function uiDevLog(ctx: Context): DevLog & { flush(): void } {
  const { colors } = ctx.ui;
  const out = ctx.ui.json ? (text: string) => ctx.ui.note(text) : (text: string) => ctx.ui.out(text);
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    out(lines.join("\n"));
  };
  return {
    request: (method, requestPath, status, ms) => {
      const paint = status >= 500 ? colors.red : status >= 400 ? colors.yellow : status >= 300 ? colors.cyan : colors.green;
      pending.push(`${method} ${requestPath} ${paint(String(status))} ${colors.dim(`${ms}ms`)}`);
      // A few hundred lines at most wait: more, kept alive until the timer, cost the garbage collector more than a write.
      if (pending.length >= maxPendingLines) flush();
      else timer ??= setTimeout(flush, 50);
    },
    php: (line) => {
      flush();
      out(`${colors.magenta("php")} ${line}`);
    },
    limit: (message) => {
      flush();
      ctx.ui.warn(message);
    },
    debug: (message) => ctx.ui.debug(message),
    mail: (line) => {
      flush();
      ctx.ui.out(`${colors.cyan("mail")} ${line}`);
    },
    flush,
  };
}

/** Starts `lamp dev`: resolve the function → start the backends → the gateway → listen. */
export async function startDevServer(options: DevServerOptions, ctx: Context, log: DevLog = uiDevLog(ctx)): Promise<DevServer> {
  const devRuntime = await resolveDevRuntime(options, ctx);
  const backends = await startBackends(devRuntime, options.workers, ctx, log);
  const gateway = new Gateway(devRuntime, backends, ctx, log);
  const server = httpServer(gateway, ctx, log);
  let address: AddressInfo;
  try {
    address = await server.listen(options.port, options.host);
  } catch (error) {
    gateway.close();
    await backends.stop();
    throw listenError(error, options);
  }
  gateway.localPort = address.port;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      gateway.close();
      await backends.stop();
      log.flush?.();
    })());
  return describeServer(address, devRuntime, backends, gateway, close);
}

function httpServer(gateway: Gateway, ctx: Context, log: DevLog): HttpServer {
  const server = new HttpServer(
    {
      // Node's own header limit is 16 KB; a larger one lets API Gateway's 10 KB limit decide, with its answer.
      maxHeaderBytes: 64 * 1024,
      maxBodyBytes: lambdaPayloadLimit,
      keepAliveTimeoutMs: 5_000,
      requestTimeoutMs: 300_000,
      headersTimeoutMs: 60_000,
      now: () => ctx.clock.now(),
    },
    (req, connection) => gateway.handle(req, connection),
  );
  server.onClientError = (statusCode, reason) => log.debug(`rejected a malformed request: ${statusCode} (${reason})`);
  return server;
}

function listenError(error: unknown, options: DevServerOptions): LampError {
  const code = errnoCode(error);
  if (code === "EADDRINUSE") {
    return new LampError("io", `Port ${options.port} on ${options.host} is already in use.`, "Stop the other server or pass --port with a free port.");
  }
  if (code === "EACCES") return new LampError("io", `Not allowed to listen on port ${options.port}.`, "Use a port above 1023, e.g. --port 8000.");
  return new LampError("io", `Cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
}

function describeServer(address: AddressInfo, devRuntime: DevRuntime, backends: DevBackends, gateway: Gateway, close: () => Promise<void>): DevServer {
  const { fpm, database } = backends;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    port: address.port,
    phpFpmBinary: devRuntime.binary,
    phpFpmPid: fpm.pid,
    phpFpmSockets: fpm.socketPaths,
    phpTmpDir: fpm.tmpDir,
    instanceTmpDirs: fpm.instanceTmpDirs,
    readOnly: devRuntime.readOnly,
    phpTimeLimitMs: devRuntime.timing.answerAfterMs,
    apiDomain: gateway.apiDomain,
    watchingWrites: backends.watchingWrites,
    database: database && { address: `127.0.0.1:${database.address.port}`, version: database.version, pid: database.pid, socketPath: database.socketPath },
    died: backends.died,
    close,
  };
}

export interface DevOptions extends DevServerOptions {}

/**
 * What runs beside the server for as long as it runs (lamp.json's schedules): given by the command,
 * which composes capabilities, so that the dev server needs none of theirs.
 */
export type DevCompanion = (project: Project, readOnly: boolean, ctx: Context) => Promise<{ stop(): Promise<void> } | undefined>;

/** `lamp dev`: serves until Ctrl-C / SIGTERM (ctx.signal), then stops php-fpm and cleans up. */
export async function dev(options: DevOptions, ctx: Context, companion?: DevCompanion): Promise<void> {
  const server = await startDevServer(options, ctx);
  const { colors } = ctx.ui;
  // The URL is the command's result (stdout); the lines about the run are banners (stderr), as every command's.
  ctx.ui.success(`lamp dev: ${colors.bold(server.url)}`);
  ctx.ui.note(
    colors.dim(
      `  ${effectiveHandler(options.project.config)} via ${server.phpFpmBinary} (${options.workers} workers) · /assets/* from ${options.project.config.assets.dir}/ · static files of ${options.project.config.documentRoot}/ before PHP · ` +
        `Lambda limits on (6 MB payloads, PHP stopped after ${server.phpTimeLimitMs / 1000} s, 10 KB headers) · Ctrl-C to stop`,
    ),
  );
  const layerOn = existsSync(path.join(options.project.root, "php", "conf.d", "lamp.ini"));
  ctx.ui.note(
    colors.dim(
      `  as behind CloudFront: Host is ${server.apiDomain}, the browser's host in X-Forwarded-Host · ` +
        (layerOn ? "runtime layer on (php/lamp-runtime.php): PHP sees the browser's host and address" : "runtime layer off: PHP sees the API Gateway host") +
        (server.readOnly ? " · project folder read-only, as /var/task" : " · project folder writable (--writable): writes into it are reported") +
        ` · ${options.workers} instance${options.workers === 1 ? "" : "s"}, each with its own /tmp · the function's environment only`,
    ),
  );
  if (server.database) ctx.ui.note(colors.dim(`  MySQL (${server.database.version}) on ${server.database.address}, data in .lamp/mariadb · PHP gets DB_HOST… and DATABASE_URL`));
  ctx.ui.note(
    colors.dim(
      (options.project.config.wordpress ? "  media in the bucket's stand-in (.lamp/bucket), served at /wp-content/uploads/ · " : "  ") +
        `mail() caught in .lamp/mail, never sent${options.project.config.mail ? "" : " (in Lambda: not sent without mail.from in lamp.json)"}`,
    ),
  );
  const stranded = await strandedUploads(options.project.root, options.project.config);
  if (stranded) ctx.ui.warn(stranded);
  const schedules = await companion?.(options.project, server.readOnly, ctx);
  ctx.ui.result({ url: server.url, phpFpm: server.phpFpmBinary, workers: options.workers, ...(server.database ? { database: server.database.address } : {}) });
  const stopped = await new Promise<string | undefined>((resolve) => {
    if (ctx.signal.aborted) resolve(undefined);
    ctx.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    void server.died.then(resolve);
  });
  await schedules?.stop();
  await server.close();
  if (stopped) throw new LampError("failed", stopped);
  ctx.ui.note(server.database ? "Stopped php-fpm, the database and the dev server." : "Stopped php-fpm and the dev server.");
}
