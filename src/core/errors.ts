/**
 * Typed errors. Capabilities throw these; `cli.ts` is the only place that turns them into
 * a printed line and an exit code.
 */

export const ExitCode = {
  failure: 1,
  usage: 2,
  config: 3,
  aws: 4,
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type LampErrorCode =
  | "usage"
  | "config"
  | "not-found"
  | "exists"
  | "credentials"
  | "region"
  | "aws"
  | "stack-state"
  | "limit"
  | "dependency"
  | "io"
  | "failed"
  | "cancelled";

const exitCodeFor: Record<LampErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  config: ExitCode.config,
  "not-found": ExitCode.failure,
  exists: ExitCode.failure,
  credentials: ExitCode.aws,
  region: ExitCode.aws,
  aws: ExitCode.aws,
  "stack-state": ExitCode.aws,
  limit: ExitCode.failure,
  dependency: ExitCode.failure,
  io: ExitCode.failure,
  failed: ExitCode.failure,
  cancelled: ExitCode.cancelled,
};

export class LampError extends Error {
  override readonly name = "LampError";
  /** One of ExitCode, or a script's own code (ScriptExitError). */
  readonly exitCode: number;

  constructor(
    readonly code: LampErrorCode,
    message: string,
    /** What the user can do about it, one line. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.exitCode = exitCodeFor[code];
  }
}

/** The user pressed Ctrl-C or answered "no" to a prompt that gates the whole command. */
export class CancelledError extends LampError {
  constructor(
    message = "Cancelled.",
    /** The prompt already told the user; cli.ts prints nothing more. */
    readonly alreadyShown = false,
  ) {
    super("cancelled", message);
  }
}

/**
 * A script lamp ran (`lamp run`) ended with a non-zero exit code: lamp exits with that code and
 * prints nothing more, as the script's own output said what happened.
 */
export class ScriptExitError extends LampError {
  override readonly exitCode: number;

  constructor(exitCode: number, message = `The script exited with code ${exitCode}.`) {
    super("failed", message);
    this.exitCode = exitCode;
  }
}

/**
 * A failure as `--json` prints it. A command that prints its result and then fails puts this in
 * the result as `error`, so a script still reads one JSON document.
 */
export function errorData(error: LampError): { code: LampErrorCode; message: string; hint?: string } {
  return { code: error.code, message: error.message, hint: error.hint };
}

export function isLampError(error: unknown): error is LampError {
  return error instanceof LampError;
}

/** Node's system errors carry a `code` such as ENOENT or EACCES. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * Runs a capability so that Ctrl-C reads as the cancellation it is: the SDK rejects an aborted
 * request with its own AbortError, which would otherwise be reported as an unexpected failure.
 */
export async function reportingCancellation<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (signal.aborted && signal.reason !== undefined && !(error instanceof LampError)) throw signal.reason;
    throw error;
  }
}
