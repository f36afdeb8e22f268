import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { LampError } from "./errors.js";

/**
 * The one place that constructs AWS SDK clients. It imports no SDK module itself (the
 * caller passes the client class), so `lamp --help` never loads the SDK.
 */

export interface AwsSettings {
  profile?: string;
  /** From --region only: the one source that beats lamp.json's region (see resolveRegion). */
  region?: string;
  /** AWS_REGION, else AWS_DEFAULT_REGION, and which of the two it came from. */
  environmentRegion?: { variable: "AWS_REGION" | "AWS_DEFAULT_REGION"; value: string };
  /** The AWS config file whose profile may name a region (AWS_CONFIG_FILE, else ~/.aws/config). */
  configFile?: string;
  /** From --endpoint-url or AWS_ENDPOINT_URL: a local emulator or S3-compatible server. */
  endpointUrl?: string;
  /** LAMP_AWS_TIMEOUT_MS: the connect and the response timeout of each attempt, instead of the defaults below. */
  timeoutMs?: number;
}

/**
 * Without these an endpoint that accepts the connection and never answers keeps a command
 * waiting for ever. The response timeout counts silence, not the whole call: a long upload
 * that keeps sending, or Live Tail (an update every second), is never cut. Control-plane calls
 * (CloudFormation, STS, RDS, ...) answer within a second or two, so their silence is cut after
 * `responseMs`: three attempts and the retry pauses stay well under 40 s. Under 6 s on purpose:
 * the SDK's handler arms longer socket timeouts only 3 s into the request (10 s would be 13). S3
 * (uploads, multipart parts) and CloudWatch Logs (Live Tail, a stream) keep `transferMs`.
 */
export const awsTimeouts = { connectMs: 10_000, responseMs: 5_000, transferMs: 30_000, maxAttempts: 3 } as const;
/** The clients that move data or hold a stream open, rather than answer a control-plane call. */
const transferClients: ReadonlySet<string> = new Set(["S3Client", "CloudWatchLogsClient"]);

/** The silence after which one attempt of a call made by this client class is given up. */
function responseTimeoutOf(clientName: string, settings: AwsSettings): number {
  return settings.timeoutMs ?? (transferClients.has(clientName) ? awsTimeouts.transferMs : awsTimeouts.responseMs);
}
export const awsTimeoutVariable = "LAMP_AWS_TIMEOUT_MS";

export interface AwsClientOptions {
  /** The project's region (lamp.json): --region wins over it, it wins over the environment (see resolveRegion). */
  region?: string;
  /**
   * A region that neither the flag nor the environment may change: the service's resources only
   * work from there (CloudFront takes ACM certificates from us-east-1 only).
   */
  pinnedRegion?: string;
  /**
   * For a call that answers only when work it started has ended (Lambda's synchronous Invoke: up to
   * the function's timeout, 15 minutes): the silence each call may keep, in ms, above every default
   * and LAMP_AWS_TIMEOUT_MS. Such a call is made once: a retry after a timeout or a dropped
   * connection would start the work a second time (a migration run twice).
   */
  longCallMs?: number;
}

export interface AwsClients {
  readonly settings: AwsSettings;
  /**
   * The region a command works in (see resolveRegion), given the project's region when there is a
   * project; undefined when no source names one. Says once, on stderr, when the environment disagrees.
   */
  region(projectRegion?: string): string | undefined;
  client<T>(ClientClass: new (config: never) => T, options?: AwsClientOptions): T;
}

export function awsSettingsFrom(
  flags: { profile?: string; region?: string; endpointUrl?: string },
  env: NodeJS.ProcessEnv,
): AwsSettings {
  const environmentRegion = env.AWS_REGION
    ? { variable: "AWS_REGION" as const, value: env.AWS_REGION }
    : env.AWS_DEFAULT_REGION
      ? { variable: "AWS_DEFAULT_REGION" as const, value: env.AWS_DEFAULT_REGION }
      : undefined;
  return {
    profile: flags.profile ?? (env.AWS_PROFILE || undefined),
    ...(flags.region ? { region: flags.region } : {}),
    ...(environmentRegion ? { environmentRegion } : {}),
    configFile: env.AWS_CONFIG_FILE || path.join(env.HOME || homedir(), ".aws", "config"),
    endpointUrl: flags.endpointUrl ?? (env.AWS_ENDPOINT_URL || undefined),
    timeoutMs: env[awsTimeoutVariable] ? Number(env[awsTimeoutVariable]) : undefined,
  };
}

/**
 * Checks --endpoint-url / AWS_ENDPOINT_URL and LAMP_AWS_TIMEOUT_MS before any client uses them:
 * the SDK would otherwise fail deep inside its first call with an error that names neither.
 */
export function checkAwsSettings(settings: AwsSettings, flags: { endpointUrl?: string }, env: NodeJS.ProcessEnv): void {
  if (settings.timeoutMs !== undefined && !(Number.isInteger(settings.timeoutMs) && settings.timeoutMs > 0)) {
    throw new LampError("usage", `${awsTimeoutVariable} ${JSON.stringify(env[awsTimeoutVariable])} is not a whole number of milliseconds.`, `Set it to e.g. 30000, or unset it for the defaults.`);
  }
  const value = settings.endpointUrl;
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === "http:" || url.protocol === "https:") && url.hostname) return;
  const source = flags.endpointUrl !== undefined ? "--endpoint-url" : "AWS_ENDPOINT_URL";
  throw new LampError("usage", `${source} ${JSON.stringify(value)} is not an http(s) URL.`, "Give a full URL such as http://127.0.0.1:4566.");
}

export type RegionSource = "--region" | "lamp.json" | "AWS_REGION" | "AWS_DEFAULT_REGION" | "profile";
export interface ResolvedRegion {
  region?: string;
  source?: RegionSource;
  /** One line for stderr when the environment (or --region) names another region than the one used. */
  disagreement?: string;
}

/**
 * The region from the profile's section of the AWS config file (`[default]` or `[profile NAME]`),
 * as the AWS CLI and SDK read it; undefined when the file or the key is absent.
 */
function profileRegion(configFile: string | undefined, profile: string | undefined): string | undefined {
  if (!configFile) return undefined;
  let text: string;
  try {
    text = readFileSync(configFile, "utf8");
  } catch {
    return undefined;
  }
  const name = profile || "default";
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      const section = header[1]!.replace(/^profile\s+/, "");
      inSection = section === name;
      continue;
    }
    const pair = /^region\s*=\s*(\S+)$/.exec(line);
    if (inSection && pair) return pair[1];
  }
  return undefined;
}

/**
 * Which region a command works in, for every command alike: --region, then lamp.json's `region`
 * (a project's stack lives where its lamp.json says), then AWS_REGION, AWS_DEFAULT_REGION, and the
 * profile's region in the AWS config file.
 */
export function resolveRegion(settings: AwsSettings, projectRegion?: string): ResolvedRegion {
  const environment = (): { region: string; source: RegionSource } | undefined => {
    if (settings.environmentRegion) return { region: settings.environmentRegion.value, source: settings.environmentRegion.variable };
    const fromProfile = profileRegion(settings.configFile, settings.profile);
    return fromProfile ? { region: fromProfile, source: "profile" } : undefined;
  };
  const describe = (source: RegionSource): string =>
    source === "profile" ? `the ${settings.profile ? `"${settings.profile}"` : "default"} profile's region` : source;
  if (settings.region) {
    const disagreement = projectRegion && projectRegion !== settings.region
      ? `Using region ${settings.region} from --region (lamp.json says ${projectRegion}).`
      : undefined;
    return { region: settings.region, source: "--region", ...(disagreement ? { disagreement } : {}) };
  }
  if (projectRegion) {
    const other = environment();
    const disagreement = other && other.region !== projectRegion
      ? `Using region ${projectRegion} from lamp.json, not ${other.region} from ${describe(other.source)}; pass --region to use another.`
      : undefined;
    return { region: projectRegion, source: "lamp.json", ...(disagreement ? { disagreement } : {}) };
  }
  const other = environment();
  return other ?? {};
}

/** Client configuration, kept pure so the rules (path-style S3 behind an endpoint) are testable. */
export function clientConfig(clientName: string, settings: AwsSettings, options: AwsClientOptions = {}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    maxAttempts: options.longCallMs !== undefined ? 1 : awsTimeouts.maxAttempts,
    // An options object, so this module need not import the SDK's NodeHttpHandler. `socketTimeout`
    // is the response timeout (silence on the socket); `requestTimeout` would bound whole calls.
    requestHandler: { connectionTimeout: settings.timeoutMs ?? awsTimeouts.connectMs, socketTimeout: options.longCallMs ?? responseTimeoutOf(clientName, settings) },
  };
  const region = options.pinnedRegion ?? resolveRegion(settings, options.region).region;
  if (region) config.region = region;
  if (settings.profile) config.profile = settings.profile;
  if (settings.endpointUrl) {
    config.endpoint = settings.endpointUrl;
    if (clientName === "S3Client") {
      // S3-compatible servers and emulators serve buckets by path, not by virtual host, and
      // most do not understand the SDK's default streaming checksums (aws-chunked bodies).
      config.forcePathStyle = true;
      config.requestChecksumCalculation = "WHEN_REQUIRED";
      config.responseChecksumValidation = "WHEN_REQUIRED";
    }
    if (clientName === "CloudWatchLogsClient") {
      // StartLiveTail prefixes the endpoint's host with "stream-"; a local endpoint such as
      // 127.0.0.1 has no such sub-domain.
      config.disableHostPrefix = true;
    }
  }
  return config;
}

interface SdkClient {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  middlewareStack: {
    add(
      middleware: (next: (args: { request?: unknown }) => Promise<unknown>, context?: { commandName?: string }) => (args: { request?: unknown }) => Promise<unknown>,
      options: { step: "build"; name: string },
    ): void;
  };
}

/** The origin an SDK error came from, stored on the error so one line can name it (see describeAwsError). */
export const endpointOfError = "$lampEndpoint";
/** The response timeout of the client that failed, and the operation it called: the same line names them. */
export const timeoutOfError = "$lampTimeoutMs";
export const operationOfError = "$lampOperation";

function instrument(client: SdkClient, signal: AbortSignal | undefined, timeoutMs: number): void {
  // Outside the retries (build step): the error that comes out after the last attempt names the endpoint.
  client.middlewareStack.add(
    (next, context?: { commandName?: string }) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const request = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        if (typeof error === "object" && error !== null && request?.hostname && !(endpointOfError in error)) {
          Object.assign(error, {
            [endpointOfError]: `${request.protocol ?? "https:"}//${request.hostname}${request.port ? `:${request.port}` : ""}`,
            [timeoutOfError]: timeoutMs,
            ...(context?.commandName ? { [operationOfError]: context.commandName.replace(/Command$/, "") } : {}),
          });
        }
        throw error;
      }
    },
    { step: "build", name: "lampEndpointOnError" },
  );
  if (!signal) return;
  // Ctrl-C aborts every call, including those whose caller passed no signal. Looked up at call
  // time, so a mock installed on the prototype still answers.
  const prototype = Object.getPrototypeOf(client) as SdkClient;
  client.send = (command, options) => prototype.send.call(client, command, { ...options, abortSignal: options?.abortSignal ?? signal });
}

export function createAwsClients(settings: AwsSettings, signal?: AbortSignal, note?: (line: string) => void): AwsClients {
  const cache = new Map<string, unknown>();
  const said = new Set<string>();
  return {
    settings,
    region(projectRegion) {
      const { region, disagreement } = resolveRegion(settings, projectRegion);
      if (disagreement && note && !said.has(disagreement)) {
        said.add(disagreement);
        note(disagreement);
      }
      return region;
    },
    client<T>(ClientClass: new (config: never) => T, options: AwsClientOptions = {}): T {
      const config = clientConfig(ClientClass.name, settings, options);
      const key = `${ClientClass.name}:${String(config.region)}:${options.longCallMs ?? ""}`;
      let client = cache.get(key) as T | undefined;
      if (!client) {
        client = new ClientClass(config as never);
        instrument(client as SdkClient, signal, options.longCallMs ?? responseTimeoutOf(ClientClass.name, settings));
        cache.set(key, client);
      }
      return client;
    },
  };
}
