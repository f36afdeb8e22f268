/**
 * What one CloudWatch log message from a Bref function means: Lambda's own lines (START, END,
 * REPORT, INIT_START, in text or JSON log format), PHP-FPM's lines, PHP errors, application logs.
 * Pure: a message in, a description out.
 */

export type LogLevel = "error" | "warning" | "notice" | "info";

export type LogKind =
  /** START: a request begins on this log stream. */
  | "start"
  /** END: folded away, REPORT follows. */
  | "end"
  /** REPORT: duration, billed duration, memory, cold start. */
  | "report"
  /** INIT_START: a new instance (cold start). */
  | "init"
  /** INIT_REPORT: only logged when initialisation failed or timed out. */
  | "init-report"
  /** Lines from the runtime rather than the app: PHP-FPM's master, Lambda extensions. */
  | "runtime"
  /** Anything the app wrote, PHP's errors included. */
  | "message";

export interface LambdaReport {
  durationMs?: number;
  billedDurationMs?: number;
  memorySizeMB?: number;
  maxMemoryUsedMB?: number;
  /** Present only on a cold start. */
  initDurationMs?: number;
  restoreDurationMs?: number;
  /** Lambda adds a status only when the invocation did not succeed: timeout, error. */
  status?: string;
  errorType?: string;
}

export interface ParsedMessage {
  kind: LogKind;
  level: LogLevel;
  /** The request the line names itself (START/END/REPORT, runtime-prefixed lines, JSON records). */
  requestId?: string;
  /** The line to show: the message without transport noise (PHP-FPM's "NOTICE: PHP message:"). */
  text: string;
  report?: LambdaReport;
  /** INIT_START's runtime version, e.g. provided:al2023.v95. */
  runtimeVersion?: string;
  /** True when the line can be followed by a stack trace (an error or warning). */
  opensBlock: boolean;
}

const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const startLine = new RegExp(`^START RequestId: (${uuid})(?:\\s+Version: (\\S+))?`);
const endLine = new RegExp(`^END RequestId: (${uuid})`);
const reportLine = new RegExp(`^REPORT RequestId: (${uuid})`);
// Lines the runtime prefixes with the request: "2024-01-01T00:00:00.000Z <id> Task timed out after 3.00 seconds",
// Bref's function runtime "<id>\tInvoke Error\t{...}".
const requestPrefixed = new RegExp(`^(?:\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z\\s+)?(${uuid})\\s+(.*)$`, "s");
const fpmMaster = /^(?:\[\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2}\] )?(NOTICE|WARNING|ERROR|ALERT|DEBUG): (.*)$/s;
const phpError =
  /^(PHP )?(Fatal error|Parse error|Recoverable fatal error|Catchable fatal error|Core error|Compile error|User error|Warning|Core warning|Compile warning|User warning|Notice|User notice|Deprecated|User deprecated|Strict Standards):\s+(.*)$/s;
// Monolog's LineFormatter and Laravel: "[2024-05-01T10:00:00+00:00] app.ERROR: message {context} []".
const monologLine = /^\[[^\]]+\] [\w.-]+\.(DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY): /;
const lambdaFailure = /^(?:Task timed out after|RequestId: \S+ Error: |Runtime\.\w+|Error: Runtime exited)/;

function phpErrorLevel(type: string): LogLevel {
  if (/error/i.test(type)) return "error";
  if (/warning/i.test(type)) return "warning";
  return "notice";
}

/** Monolog, PSR-3, Lambda's JSON app logs and most loggers agree on these names. */
function levelFromName(name: unknown): LogLevel | undefined {
  if (typeof name === "number") {
    // Monolog's numeric levels: 400 error and above, 300 warning, 250 notice.
    if (name >= 400) return "error";
    if (name >= 300) return "warning";
    if (name >= 250) return "notice";
    return "info";
  }
  if (typeof name !== "string") return undefined;
  const value = name.toLowerCase();
  if (["error", "err", "fatal", "critical", "crit", "alert", "emergency", "emerg"].includes(value)) return "error";
  if (["warning", "warn"].includes(value)) return "warning";
  if (value === "notice") return "notice";
  if (["info", "debug", "trace"].includes(value)) return "info";
  return undefined;
}

function number(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** REPORT's tab-separated "Key: value unit" fields. */
function parseReportFields(line: string): LambdaReport {
  const fields = new Map<string, string>();
  for (const part of line.split("\t")) {
    const match = /^\s*([A-Za-z ]+?):\s*(.*?)\s*$/.exec(part);
    if (match) fields.set(match[1]!, match[2]!);
  }
  const report: LambdaReport = {
    durationMs: number(fields.get("Duration")),
    billedDurationMs: number(fields.get("Billed Duration")),
    memorySizeMB: number(fields.get("Memory Size")),
    maxMemoryUsedMB: number(fields.get("Max Memory Used")),
    initDurationMs: number(fields.get("Init Duration")),
    restoreDurationMs: number(fields.get("Restore Duration")),
    status: fields.get("Status"),
    errorType: fields.get("Error Type"),
  };
  return Object.fromEntries(Object.entries(report).filter(([, value]) => value !== undefined)) as LambdaReport;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** Lambda's JSON log format (LoggingConfig.LogFormat = JSON) and structured app logs. */
function parseJson(text: string): ParsedMessage | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const record = data as Record<string, unknown>;
  const type = typeof record.type === "string" ? record.type : undefined;
  const body = (typeof record.record === "object" && record.record !== null ? record.record : {}) as Record<string, unknown>;
  const requestId = typeof body.requestId === "string" ? body.requestId : typeof record.requestId === "string" ? record.requestId : undefined;

  if (type?.startsWith("platform.")) {
    switch (type) {
      case "platform.start":
        return { kind: "start", level: "info", requestId, text, opensBlock: false };
      case "platform.runtimeDone":
        return { kind: "end", level: body.status && body.status !== "success" ? "error" : "info", requestId, text, opensBlock: false };
      case "platform.report": {
        const metrics = (body.metrics ?? {}) as Record<string, number | undefined>;
        const status = typeof body.status === "string" && body.status !== "success" ? body.status : undefined;
        const report = compact<LambdaReport>({
          durationMs: metrics.durationMs,
          billedDurationMs: metrics.billedDurationMs,
          memorySizeMB: metrics.memorySizeMB,
          maxMemoryUsedMB: metrics.maxMemoryUsedMB,
          initDurationMs: metrics.initDurationMs,
          restoreDurationMs: metrics.restoreDurationMs,
          status,
          errorType: typeof body.errorType === "string" ? body.errorType : undefined,
        });
        return { kind: "report", level: status ? "error" : "info", requestId, text, report, opensBlock: false };
      }
      case "platform.initStart":
        return { kind: "init", level: "info", text, runtimeVersion: typeof body.runtimeVersion === "string" ? body.runtimeVersion : undefined, opensBlock: false };
      case "platform.initReport": {
        const status = typeof body.status === "string" ? body.status : undefined;
        const failed = status !== undefined && status !== "success";
        const durationMs = (body.metrics as { durationMs?: number } | undefined)?.durationMs;
        const report = compact<LambdaReport>({ initDurationMs: durationMs, status });
        return { kind: failed ? "init-report" : "runtime", level: failed ? "error" : "info", text, report, opensBlock: false };
      }
      default:
        return { kind: "runtime", level: "info", requestId, text, opensBlock: false };
    }
  }

  const level =
    levelFromName(record.level_name) ??
    levelFromName(record.level) ??
    levelFromName(record.severity) ??
    levelFromName(record.levelname) ??
    (record.errorType !== undefined ? "error" : undefined) ??
    "info";
  return { kind: "message", level, requestId, text: structuredLogText(record) ?? text, opensBlock: level === "error" || level === "warning" };
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/** "app.ERROR: Upstream API failed {"status":502}" for a Monolog-style JSON record; undefined for other JSON. */
function structuredLogText(record: Record<string, unknown>): string | undefined {
  const message = typeof record.message === "string" ? record.message : typeof record.msg === "string" ? record.msg : undefined;
  if (message === undefined) return undefined;
  const levelName = record.level_name ?? (typeof record.level === "string" ? record.level : undefined) ?? record.severity;
  const label = [typeof record.channel === "string" ? record.channel : undefined, typeof levelName === "string" ? levelName.toUpperCase() : undefined]
    .filter(Boolean)
    .join(".");
  const details = [record.context, record.extra].filter((value) => !isEmpty(value)).map((value) => JSON.stringify(value));
  return [label ? `${label}: ${message}` : message, ...details].join(" ");
}

/** Describes one message. Lambda ends most messages with a newline; it is not part of the line. */
export function parseMessage(message: string): ParsedMessage {
  const text = message.replace(/\r?\n$/, "");

  let match = startLine.exec(text);
  if (match) return { kind: "start", level: "info", requestId: match[1], text, opensBlock: false };
  match = endLine.exec(text);
  if (match) return { kind: "end", level: "info", requestId: match[1], text, opensBlock: false };
  match = reportLine.exec(text);
  if (match) {
    const report = parseReportFields(text.split("\n")[0]!);
    return { kind: "report", level: report.status ? "error" : "info", requestId: match[1], text, report, opensBlock: false };
  }
  if (text.startsWith("INIT_START ")) {
    const version = /Runtime Version: (\S+)/.exec(text)?.[1];
    return { kind: "init", level: "info", text, runtimeVersion: version, opensBlock: false };
  }
  if (text.startsWith("INIT_REPORT ")) {
    const fields = parseReportFields(text.slice("INIT_REPORT ".length));
    const failed = fields.status !== undefined && fields.status !== "success";
    return { kind: failed ? "init-report" : "runtime", level: failed ? "error" : "info", text, report: fields, opensBlock: false };
  }
  if (/^(EXTENSION|TELEMETRY|LOGS)\t/.test(text)) return { kind: "runtime", level: "info", text, opensBlock: false };

  let requestId: string | undefined;
  let body = text;
  match = requestPrefixed.exec(text);
  if (match) {
    requestId = match[1];
    body = match[2]!;
    if (body.startsWith("Invoke Error")) {
      // Bref's function runtime: "<id>\tInvoke Error\t{json}" — the invocation failed.
      return { kind: "message", level: "error", requestId, text: body.replace(/\t/g, " "), opensBlock: true };
    }
    if (lambdaFailure.test(body)) return { kind: "message", level: "error", requestId, text: body, opensBlock: true };
  }
  if (lambdaFailure.test(body)) return { kind: "message", level: "error", requestId, text: body, opensBlock: true };

  // PHP-FPM's master log. With catch_workers_output a PHP error arrives as "NOTICE: PHP message: PHP Warning:  ...".
  match = fpmMaster.exec(body);
  let fromFpm = false;
  if (match) {
    const rest = match[2]!;
    if (rest.startsWith("PHP message: ")) {
      body = rest.slice("PHP message: ".length);
      fromFpm = true;
    } else {
      const severity = match[1]!;
      const level: LogLevel = severity === "ERROR" || severity === "ALERT" ? "error" : severity === "WARNING" ? "warning" : "info";
      // The line's own date repeats the event's time.
      return { kind: "runtime", level, requestId, text: `${severity}: ${rest}`, opensBlock: false };
    }
  } else if (body.startsWith("PHP message: ")) {
    body = body.slice("PHP message: ".length);
    fromFpm = true;
  }

  match = phpError.exec(body);
  if (match) {
    const [, prefix = "", type = "", detail = ""] = match;
    const level = phpErrorLevel(type);
    // PHP pads "PHP Warning:  message" with two spaces; one reads better.
    return { kind: "message", level, requestId, text: `${prefix}${type}: ${detail}`, opensBlock: level !== "notice" };
  }
  if (fromFpm) return { kind: "message", level: "info", requestId, text: body, opensBlock: false };

  match = monologLine.exec(body);
  if (match) {
    const level = levelFromName(match[1]) ?? "info";
    // The bracketed date repeats the event's time; trailing "[]" are Monolog's empty context and extra.
    const shown = body.replace(/^\[[^\]]+\] /, "").replace(/( \[\])+$/, "");
    return { kind: "message", level, requestId, text: shown, opensBlock: level === "error" || level === "warning" };
  }
  if (body.startsWith("{")) {
    const json = parseJson(body);
    if (json) return { ...json, requestId: json.requestId ?? requestId };
  }
  return { kind: "message", level: "info", requestId, text: body, opensBlock: false };
}

/**
 * Lines that continue the error above them: PHP's "Stack trace:", "#0 ...", "  thrown in",
 * chained "Next ...", Laravel's "[stacktrace]", and the lines of a pretty-printed JSON error.
 * Lambda stores each line PHP prints as its own event, so this is how a trace stays together.
 */
export function isContinuation(line: string): boolean {
  return /^(Stack trace:|#\d+ |\s+\S|Next \S|\[stacktrace\]|\{main\}|"\}?\s*$|[{}[\]],?\s*$|"[^"]*":)/.test(line.replace(/\r?\n$/, ""));
}
