import pc from "picocolors";
import { describe, expect, it } from "vitest";
import type { LogEvent } from "../../src/logs/events.js";
import { LogFormatter, formatMs, type JsonLogLine, type OutputFormat } from "../../src/logs/format.js";
import { loadFixture } from "./fixtures.js";

const noon = Date.parse("2026-01-15T12:00:00Z");

function render(events: LogEvent[], options: { format?: OutputFormat; timeZone?: string; colors?: boolean; now?: number } = {}): string[] {
  const formatter = new LogFormatter({
    format: options.format ?? "pretty",
    colors: pc.createColors(options.colors ?? false),
    now: options.now ?? noon,
    timeZone: options.timeZone ?? "UTC",
  });
  return events.flatMap((event) => formatter.format(event));
}

const red = (text: string) => `\x1b[31m${text}\x1b[39m`;
const yellow = (text: string) => `\x1b[33m${text}\x1b[39m`;

describe("formatter: a Bref FPM function (cold start, warning, uncaught exception)", () => {
  const events = loadFixture("bref-fpm");

  it("folds START/END, summarises REPORT (cold start only when there was one), keeps the trace under its error", () => {
    expect(render(events)).toEqual([
      "10:00:00.100           cold start · provided:al2023.v95",
      "10:00:00.400           NOTICE: fpm is running, pid 11",
      "10:00:00.401           NOTICE: ready to handle connections",
      "10:00:00.615 5453c803  PHP Warning: Undefined variable $undefined in /var/task/public/index.php on line 3",
      "10:00:00.622 5453c803  ▸ 12.9 ms (billed 519 ms) · 63/1024 MB · cold start 506 ms",
      "10:00:07.031 2b1fd0e4  PHP Fatal error: Uncaught RuntimeException: Database unreachable in /var/task/public/index.php:5",
      "                       Stack trace:",
      "                       #0 /var/task/public/index.php(5): f()",
      "                       #1 /var/task/public/index.php(5): g()",
      "                       #2 {main}",
      "                         thrown in /var/task/public/index.php on line 5",
      "10:00:07.032 2b1fd0e4  app.INFO: Rendered error page {\"status\":500}",
      "10:00:07.040 2b1fd0e4  ▸ 38.1 ms (billed 39 ms) · 64/1024 MB",
    ]);
  });

  it("shows local time: the same events in India are 5h30 later, and lines from another day carry their date", () => {
    const lines = render(events, { timeZone: "Asia/Kolkata" });
    expect(lines[0]).toMatch(/^15:30:00\.100 /);
    const dayAfter = render(events.slice(7, 11), { now: noon + 86_400_000 });
    expect(dayAfter).toEqual([
      "2026-01-15 10:00:07.031 2b1fd0e4  PHP Fatal error: Uncaught RuntimeException: Database unreachable in /var/task/public/index.php:5",
      "                                  Stack trace:",
      "                                  #0 /var/task/public/index.php(5): f()",
    ]);
  });

  it("highlights the fatal error and its whole trace in red, the warning in yellow, and nothing else", () => {
    const lines = render(events, { colors: true });
    const fatalAt = lines.findIndex((line) => line.includes("Uncaught RuntimeException"));
    expect(lines[fatalAt]).toContain(red("PHP Fatal error: Uncaught RuntimeException: Database unreachable in /var/task/public/index.php:5"));
    for (const traceLine of lines.slice(fatalAt + 1, fatalAt + 6)) expect(traceLine).toMatch(/\x1b\[31m.*\x1b\[39m$/);
    expect(lines.find((line) => line.includes("Undefined variable"))).toContain(yellow("PHP Warning: Undefined variable $undefined in /var/task/public/index.php on line 3"));
    const plain = lines.filter((line) => /app\.INFO|fpm is running/.test(line));
    expect(plain).toHaveLength(2);
    for (const line of plain) expect(line).not.toMatch(/\x1b\[3[13]m/);
  });

  it("--raw prints every message as logged, START and END included, without time or id", () => {
    expect(render(events, { format: "raw" })).toEqual(events.map((event) => event.message.replace(/\n$/, "")));
  });

  it("--json prints one parseable object per event with kind, level, request id and the parsed REPORT", () => {
    const lines = render(events, { format: "json" });
    expect(lines).toHaveLength(events.length);
    const objects = lines.map((line) => JSON.parse(line) as JsonLogLine);
    expect(objects.map((object) => object.kind)).toEqual([
      "init", "runtime", "runtime", "start", "message", "end", "report",
      "start", "message", "trace", "trace", "trace", "trace", "trace", "message", "end", "report",
    ]);
    const warning = objects[4]!;
    expect(warning).toMatchObject({ level: "warning", requestId: "5453c803-9340-4f3e-b47d-1e2757f797e1", time: "2026-01-15T10:00:00.615Z", eventId: "bref-fpm-4" });
    expect(warning.message).toBe("NOTICE: PHP message: PHP Warning:  Undefined variable $undefined in /var/task/public/index.php on line 3");
    expect(objects.slice(8, 14).every((object) => object.level === "error" && object.requestId === "2b1fd0e4-77aa-4f1c-9c39-0f3c2d9b8a11")).toBe(true);
    expect(objects[6]!.report).toEqual({ durationMs: 12.86, billedDurationMs: 519, memorySizeMB: 1024, maxMemoryUsedMB: 63, initDurationMs: 506.06 });
    expect(objects[16]!.report).toEqual({ durationMs: 38.12, billedDurationMs: 39, memorySizeMB: 1024, maxMemoryUsedMB: 64 });
  });
});

describe("formatter: PHP errors and app logs in their real shapes", () => {
  it("classifies each line by what PHP or Monolog said, whatever the prefix", () => {
    const levels = render(loadFixture("php-errors"), { format: "json" }).map((line) => (JSON.parse(line) as JsonLogLine).level);
    expect(levels).toEqual(["notice", "error", "error", "warning", "error", "warning", "warning"]);
  });

  it("drops PHP-FPM's transport prefix and the repeated dates, keeps the rest", () => {
    expect(render(loadFixture("php-errors"))).toEqual([
      "10:01:00.000           PHP Deprecated: strlen(): Passing null to parameter #1 ($string) of type string is deprecated in /var/task/public/index.php on line 6",
      "10:01:00.100           PHP Parse error: syntax error, unexpected token \";\" in /var/task/src/Controller.php on line 12",
      "10:01:00.200           PHP Fatal error: Allowed memory size of 134217728 bytes exhausted (tried to allocate 1003520 bytes) in /var/task/src/Report.php on line 88",
      "10:01:00.300           Warning: file_get_contents(/tmp/cache.json): Failed to open stream: No such file or directory in /var/task/src/Cache.php on line 20",
      "10:01:00.400           app.ERROR: Payment failed {\"order\":42}",
      "10:01:00.500           app.WARNING: Slow query {\"ms\":1250}",
      "10:01:00.600           WARNING: [pool default] child 14 exited on signal 9 (SIGKILL) after 12.302 seconds from start",
    ]);
  });
});

describe("formatter: Lambda failures", () => {
  it("marks a timeout and a failed init, and flags memory close to the limit", () => {
    const events = loadFixture("lambda-failures");
    expect(render(events)).toEqual([
      "10:02:28.030 7c1e5f20  Task timed out after 28.03 seconds",
      "10:02:28.031 7c1e5f20  ✖ timeout · 28.03 s (billed 28.00 s) · 121/128 MB",
      "10:03:00.000           ✖ init failed: timeout after 10.01 s",
    ]);
    const colored = render(events, { colors: true });
    expect(colored[0]).toContain(red("Task timed out after 28.03 seconds"));
    expect(colored[1]).toContain(red("✖ timeout"));
    expect(colored[1]).toContain(yellow("121/128 MB"));
  });
});

describe("formatter: Lambda's JSON log format and JSON app logs", () => {
  it("reads platform records like their text forms and shows structured app logs as one line", () => {
    const events = loadFixture("lambda-json-format");
    expect(render(events)).toEqual([
      "10:04:00.000           cold start · provided:al2023.v95",
      "10:04:00.510 9a0b1c2d  app.INFO: Cache miss {\"key\":\"home\"}",
      "10:04:00.520 9a0b1c2d  app.ERROR: Upstream API failed {\"status\":502}",
      "10:04:00.531 9a0b1c2d  ▸ 30.5 ms (billed 420 ms) · 70/512 MB · cold start 389 ms",
    ]);
    const json = render(events, { format: "json" }).map((line) => JSON.parse(line) as JsonLogLine);
    expect(json.map((line) => line.kind)).toEqual(["init", "start", "message", "message", "end", "report"]);
    expect(json[3]!.level).toBe("error");
    expect(json[5]!.report).toEqual({ durationMs: 30.5, billedDurationMs: 420, memorySizeMB: 512, maxMemoryUsedMB: 70, initDurationMs: 389.2 });
  });
});

describe("formatter: multi-line errors", () => {
  it("keeps Bref's pretty-printed Invoke Error together under its request", () => {
    const lines = render(loadFixture("bref-invoke-error"));
    expect(lines[0]).toBe("10:05:00.050 1f2e3d4c  Invoke Error {");
    expect(lines.slice(1, 7)).toEqual([
      "                           \"errorType\": \"ErrorException\",",
      "                           \"errorMessage\": \"Warning: Trying to access array offset on value of type null\",",
      "                           \"stack\": [",
      "                               \"#0 /var/task/handler.php(24): App\\\\Handler->handle(Array)\"",
      "                           ]",
      "                       }",
    ]);
    expect(lines[7]).toBe("10:05:00.060 1f2e3d4c  ▸ 55 ms (billed 56 ms) · 70/1024 MB");
  });

  it("a trace line that arrives after another instance's line gets its own prefix, with its own request", () => {
    const [start, fatal, stackTrace] = loadFixture("bref-fpm").slice(7, 10) as [LogEvent, LogEvent, LogEvent];
    const other: LogEvent = { timestamp: fatal.timestamp, logStream: "other-instance", message: "[2026-01-15T10:00:07+00:00] app.INFO: Hello []\n" };
    const lines = render([start, fatal, other, stackTrace], { colors: true });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^\S*10:00:07\.031\S* \S*2b1fd0e4/);
    expect(lines[2]).toContain(red("Stack trace:"));
  });

  it("one event holding several lines is printed as a block", () => {
    const event: LogEvent = { timestamp: noon - 1000, logStream: "s", message: "PHP Fatal error:  Uncaught Exception: boom in /var/task/a.php:3\nStack trace:\n#0 {main}\n" };
    expect(render([event])).toEqual([
      "11:59:59.000           PHP Fatal error: Uncaught Exception: boom in /var/task/a.php:3",
      "                       Stack trace:",
      "                       #0 {main}",
    ]);
  });

  it("an ordinary line after an error is not swallowed into it", () => {
    const [, warning] = loadFixture("bref-fpm").slice(3, 5) as [LogEvent, LogEvent];
    const next: LogEvent = { timestamp: warning.timestamp + 1, logStream: warning.logStream, message: "Sending order confirmation\n" };
    expect(render([warning, next])[1]).toBe("10:00:00.616           Sending order confirmation");
  });
});

describe("formatMs", () => {
  it("keeps durations short and readable", () => {
    expect([formatMs(0.42), formatMs(12.86), formatMs(506.06), formatMs(28030.47)]).toEqual(["0.4 ms", "12.9 ms", "506 ms", "28.03 s"]);
  });
});
