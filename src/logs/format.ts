import type { Colors } from "../core/ui.js";
import type { LogEvent } from "./events.js";
import { isContinuation, parseMessage, type LambdaReport, type LogKind, type LogLevel, type ParsedMessage } from "./parse.js";

export type OutputFormat = "pretty" | "raw" | "json";

export interface FormatterOptions {
  format: OutputFormat;
  colors: Colors;
  /** Now, to decide when a line needs its date (it is not from today). */
  now: number;
  /** IANA zone to show times in; the system's local zone when undefined. */
  timeZone?: string;
}

/** One event as `--json` prints it: a stable shape for `jq`. */
export interface JsonLogLine {
  time: string;
  timestamp: number;
  logStream: string;
  eventId?: string;
  requestId?: string;
  kind: LogKind | "trace";
  level: LogLevel;
  message: string;
  report?: LambdaReport;
}

const shortIdLength = 8;
const requestColors = ["cyan", "magenta", "blue", "green"] as const;

/**
 * Turns events into lines. No I/O and no clock: the same events and options always give the
 * same lines. It keeps a little memory per log stream (one Lambda instance, one request at a
 * time): the request in progress, so app lines get its id, and whether the last line opened
 * a stack trace, so the trace's lines stay together under it.
 */
export class LogFormatter {
  private readonly requestByStream = new Map<string, string>();
  private readonly blockByStream = new Map<string, LogLevel>();
  private lastStream: string | undefined;
  /** Continuation lines line up under the text of the line they continue. */
  private lastTimeWidth = "HH:MM:SS.mmm".length;
  private cachedSecond = Number.NaN;
  private cachedParts = { date: "", time: "" };
  private readonly clock: Intl.DateTimeFormat;
  private readonly today: string;

  constructor(private readonly options: FormatterOptions) {
    this.clock = new Intl.DateTimeFormat("en-CA", {
      timeZone: options.timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    this.today = this.localTime(options.now).date;
  }

  /** The lines to print for one event; none when it is folded away (START, END). */
  format(event: LogEvent): string[] {
    if (this.options.format === "raw") return [event.message.replace(/\r?\n$/, "")];

    const parsed = parseMessage(event.message);
    const stream = event.logStream;
    const block = this.blockByStream.get(stream);
    const continues = block !== undefined && parsed.kind === "message" && isContinuation(event.message);

    if (parsed.kind === "start" && parsed.requestId) this.requestByStream.set(stream, parsed.requestId);
    if (parsed.kind === "init") this.requestByStream.delete(stream);
    if (continues) {
      // Keep the block open.
    } else if (parsed.opensBlock) {
      this.blockByStream.set(stream, parsed.level);
    } else {
      this.blockByStream.delete(stream);
    }
    const requestId = parsed.requestId ?? this.requestByStream.get(stream);
    const level = continues ? block : parsed.level;

    if (this.options.format === "json") {
      const line: JsonLogLine = {
        time: new Date(event.timestamp).toISOString(),
        timestamp: event.timestamp,
        logStream: stream,
        ...(event.eventId ? { eventId: event.eventId } : {}),
        ...(requestId ? { requestId } : {}),
        kind: continues ? "trace" : parsed.kind,
        level,
        message: event.message.replace(/\r?\n$/, ""),
        ...(parsed.report && (parsed.kind === "report" || parsed.kind === "init-report") ? { report: parsed.report } : {}),
      };
      return [JSON.stringify(line)];
    }

    const sameStream = this.lastStream === stream;
    let lines: string[];
    if (parsed.kind === "start" || parsed.kind === "end") {
      lines = [];
    } else if (continues && sameStream) {
      lines = this.indent(parsed.text.split("\n")).map((text) => this.paint(level, text));
    } else {
      lines = this.pretty(event.timestamp, requestId, parsed, level);
    }
    if (lines.length > 0) this.lastStream = stream;
    return lines;
  }

  private pretty(timestamp: number, requestId: string | undefined, parsed: ParsedMessage, level: LogLevel): string[] {
    const { colors } = this.options;
    const time = this.timeLabel(timestamp);
    this.lastTimeWidth = time.length;
    const id = requestId ? this.requestLabel(requestId) : " ".repeat(shortIdLength);
    const prefix = `${colors.dim(time)} ${id}  `;
    let first: string;
    let rest: string[] = [];
    switch (parsed.kind) {
      case "report":
        first = this.reportSummary(parsed.report ?? {});
        break;
      case "init":
        first = colors.dim(`cold start${parsed.runtimeVersion ? ` · ${parsed.runtimeVersion}` : ""}`);
        break;
      case "init-report": {
        const { status = "error", initDurationMs } = parsed.report ?? {};
        first = colors.red(`✖ init failed: ${status}${initDurationMs !== undefined ? ` after ${formatMs(initDurationMs)}` : ""}`);
        break;
      }
      case "runtime":
        first = level === "info" ? colors.dim(parsed.text) : this.paint(level, parsed.text);
        break;
      default: {
        const [head = "", ...tail] = parsed.text.split("\n");
        first = this.paint(level, head);
        rest = this.indent(tail).map((text) => this.paint(level, text));
      }
    }
    return [`${prefix}${first}`, ...rest];
  }

  private reportSummary(report: LambdaReport): string {
    const { colors } = this.options;
    const parts: string[] = [];
    if (report.durationMs !== undefined) {
      parts.push(`${formatMs(report.durationMs)}${report.billedDurationMs !== undefined ? ` (billed ${formatMs(report.billedDurationMs)})` : ""}`);
    }
    if (report.maxMemoryUsedMB !== undefined && report.memorySizeMB !== undefined) {
      const memory = `${report.maxMemoryUsedMB}/${report.memorySizeMB} MB`;
      // Close to the limit is where "Allowed memory size exhausted" and OOM kills start.
      parts.push(report.maxMemoryUsedMB >= report.memorySizeMB * 0.9 ? colors.yellow(memory) : memory);
    }
    if (report.initDurationMs !== undefined) parts.push(colors.yellow(`cold start ${formatMs(report.initDurationMs)}`));
    if (report.restoreDurationMs !== undefined) parts.push(`restore ${formatMs(report.restoreDurationMs)}`);
    const summary = parts.join(" · ");
    if (report.status) {
      const failure = `${report.status}${report.errorType ? ` (${report.errorType})` : ""}`;
      return `${colors.red(`✖ ${failure}`)} ${colors.dim("·")} ${summary}`;
    }
    return `${colors.dim("▸")} ${summary}`;
  }

  private paint(level: LogLevel, text: string): string {
    const { colors } = this.options;
    if (level === "error") return colors.red(text);
    if (level === "warning") return colors.yellow(text);
    return text;
  }

  private indent(lines: string[], timeWidth = this.lastTimeWidth): string[] {
    const pad = " ".repeat(timeWidth + 1 + shortIdLength + 2);
    return lines.map((line) => `${pad}${line.replace(/^\s+/, (space) => space.replace(/\t/g, "    "))}`);
  }

  private requestLabel(requestId: string): string {
    const short = requestId.slice(0, shortIdLength).padEnd(shortIdLength);
    // One colour per request, so interleaved requests from several instances are told apart.
    let hash = 0;
    for (const char of requestId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return this.options.colors[requestColors[hash % requestColors.length]!](short);
  }

  private timeLabel(timestamp: number): string {
    const { date, time } = this.localTime(timestamp);
    return date === this.today ? time : `${date} ${time}`;
  }

  private localTime(timestamp: number): { date: string; time: string } {
    // Time zones move in whole minutes, so one second's parts serve all its milliseconds;
    // asking Intl once per line would be most of the formatting time.
    const second = Math.floor(timestamp / 1000);
    if (second !== this.cachedSecond) {
      const parts = Object.fromEntries(this.clock.formatToParts(second * 1000).map((part) => [part.type, part.value]));
      this.cachedSecond = second;
      this.cachedParts = { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}` };
    }
    const millis = String(timestamp - second * 1000).padStart(3, "0");
    return { date: this.cachedParts.date, time: `${this.cachedParts.time}.${millis}` };
  }
}

/** 12.3 ms, 145 ms, 1.20 s. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${Number(ms.toFixed(1))} ms`;
}
