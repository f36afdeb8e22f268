import { LampError } from "./errors.js";

/**
 * The one place that constructs AWS SDK clients. It imports no SDK module itself (the
 * caller passes the client class), so `lamp --help` never loads the SDK.
 */

export interface AwsSettings {
  profile?: string;
  /** From --region or AWS_REGION / AWS_DEFAULT_REGION; lamp.json's region is the fallback. */
  region?: string;
  /** From --endpoint-url or AWS_ENDPOINT_URL: a local emulator or S3-compatible server. */
  endpointUrl?: string;
  /** LAMP_AWS_TIMEOUT_MS: the connect and the response timeout of each attempt, instead of the defaults below. */
  timeoutMs?: number;
}

/**
 * Without these an endpoint that accepts the connection and never answers keeps a command
 * waiting for ever. The response timeout counts silence, not the whole call: a long upload
 * that keeps sending, or Live Tail (an update every second), is never cut.
 */
export const awsTimeouts = { connectMs: 10_000, responseMs: 30_000, maxAttempts: 3 } as const;
export const awsTimeoutVariable = "LAMP_AWS_TIMEOUT_MS";

export interface AwsClientOptions {
  /** The project's region (lamp.json); the flag or environment variable wins over it. */
  region?: string;
  /**
   * A region that neither the flag nor the environment may change: the service's resources only
   * work from there (CloudFront takes ACM certificates from us-east-1 only).
   */
  pinnedRegion?: string;
}

export interface AwsClients {
  readonly settings: AwsSettings;
  /** The region a client made now would use, or undefined when none is known. */
  region(fallback?: string): string | undefined;
  client<T>(ClientClass: new (config: never) => T, options?: AwsClientOptions): T;
}

export function awsSettingsFrom(
  flags: { profile?: string; region?: string; endpointUrl?: string },
  env: NodeJS.ProcessEnv,
): AwsSettings {
  return {
    profile: flags.profile ?? (env.AWS_PROFILE || undefined),
    region: flags.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined),
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

/** Client configuration, kept pure so the rules (path-style S3 behind an endpoint) are testable. */
export function clientConfig(clientName: string, settings: AwsSettings, options: AwsClientOptions = {}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    maxAttempts: awsTimeouts.maxAttempts,
    // An options object, so this module need not import the SDK's NodeHttpHandler. `socketTimeout`
    // is the response timeout (silence on the socket); `requestTimeout` would bound whole calls.
    requestHandler: { connectionTimeout: settings.timeoutMs ?? awsTimeouts.connectMs, socketTimeout: settings.timeoutMs ?? awsTimeouts.responseMs },
  };
  const region = options.pinnedRegion ?? settings.region ?? options.region;
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
    add(middleware: (next: (args: { request?: unknown }) => Promise<unknown>) => (args: { request?: unknown }) => Promise<unknown>, options: { step: "build"; name: string }): void;
  };
}

/** The origin an SDK error came from, stored on the error so one line can name it (see describeAwsError). */
export const endpointOfError = "$lampEndpoint";

function instrument(client: SdkClient, signal: AbortSignal | undefined): void {
  // Outside the retries (build step): the error that comes out after the last attempt names the endpoint.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const request = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        if (typeof error === "object" && error !== null && request?.hostname && !(endpointOfError in error)) {
          Object.assign(error, { [endpointOfError]: `${request.protocol ?? "https:"}//${request.hostname}${request.port ? `:${request.port}` : ""}` });
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

export function createAwsClients(settings: AwsSettings, signal?: AbortSignal): AwsClients {
  const cache = new Map<string, unknown>();
  return {
    settings,
    region: (fallback) => settings.region ?? fallback,
    client<T>(ClientClass: new (config: never) => T, options: AwsClientOptions = {}): T {
      const config = clientConfig(ClientClass.name, settings, options);
      const key = `${ClientClass.name}:${String(config.region)}`;
      let client = cache.get(key) as T | undefined;
      if (!client) {
        client = new ClientClass(config as never);
        instrument(client as SdkClient, signal);
        cache.set(key, client);
      }
      return client;
    },
  };
}
