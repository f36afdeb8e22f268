import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/project/config.js";
import { splitCommandLine } from "../../src/project/command-line.js";
import { listSchedules, parseSchedule } from "../../src/project/schedule.js";
import { formatStackInfo } from "../../src/deploy/info.js";

const at = (iso: string) => Date.parse(iso);
const iso = (time: number | undefined) => (time === undefined ? undefined : new Date(time).toISOString());

describe("schedule entries", () => {
  it("computes a cron's next run in its time zone (03:00 Paris is 01:00 UTC in summer, 02:00 in winter)", () => {
    const nightly = parseSchedule({ run: "x.php", cron: "0 3 * * ? *", timezone: "Europe/Paris" });
    expect(iso(nightly.next(at("2026-07-01T12:00:00Z")))).toBe("2026-07-02T01:00:00.000Z");
    expect(iso(nightly.next(at("2026-12-01T12:00:00Z")))).toBe("2026-12-02T02:00:00.000Z");
  });

  it("reads EventBridge's fields: day-of-week 1-7 from Sunday, names, steps, L and #", () => {
    const mondays = parseSchedule({ run: "x.php", cron: "30 9 ? * MON *" });
    expect(iso(mondays.next(at("2026-12-05T10:00:00Z")))).toBe("2026-12-07T09:30:00.000Z"); // Saturday -> Monday
    expect(iso(parseSchedule({ run: "x.php", cron: "0 0 ? * 1 *" }).next(at("2026-12-05T10:00:00Z")))).toBe("2026-12-06T00:00:00.000Z"); // 1 = Sunday
    expect(iso(parseSchedule({ run: "x.php", cron: "*/15 * * * ? *" }).next(at("2026-12-05T10:07:00Z")))).toBe("2026-12-05T10:15:00.000Z");
    expect(iso(parseSchedule({ run: "x.php", cron: "0 12 L * ? *" }).next(at("2026-02-10T00:00:00Z")))).toBe("2026-02-28T12:00:00.000Z");
    expect(iso(parseSchedule({ run: "x.php", cron: "0 12 ? * 6#1 *" }).next(at("2026-12-05T13:00:00Z")))).toBe("2027-01-01T12:00:00.000Z"); // first Friday
    expect(parseSchedule({ run: "x.php", cron: "0 0 1 1 ? 2020" }).next(at("2026-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("counts a rate from its origin and gives EventBridge's expression", () => {
    const every5 = parseSchedule({ run: "artisan schedule:run", rate: "5 minutes" }, at("2026-12-05T10:00:00Z"));
    expect(every5.expression).toBe("rate(5 minutes)");
    expect(every5.args).toEqual(["artisan", "schedule:run"]);
    expect(iso(every5.next(at("2026-12-05T10:07:00Z")))).toBe("2026-12-05T10:10:00.000Z");
  });

  it.each([
    [{ run: "x.php", cron: "0 3 * * * *" }, /schedule\[1\] \("x.php"\): cron "0 3 \* \* \* \*" needs "\?" in exactly one of day-of-month/],
    [{ run: "x.php", cron: "0 3 * *" }, /cron "0 3 \* \*" has 4 fields; EventBridge's cron has 6/],
    [{ run: "x.php", cron: "0 25 * * ? *" }, /hours "25" is not 0-23/],
    [{ run: "x.php", rate: "1 minutes" }, /rate "1 minutes" says "1 minutes"; EventBridge wants "1 minute"/],
    [{ run: "x.php", rate: "every hour" }, /rate "every hour" is not/],
    [{ run: "x.php", cron: "0 3 * * ? *", timezone: "Mars/Olympus" }, /timezone "Mars\/Olympus" is not an IANA time zone/],
    [{ run: "x.php" }, /needs either "cron" or "rate"/],
    [{ run: "x.php 'open", rate: "1 day" }, /run has an unclosed single quote/],
  ])("refuses %j when lamp.json is read, naming the entry", async (bad, message) => {
    const config = { stackName: "shop", region: "eu-west-1", schedule: [{ run: "ok.php", rate: "1 day" }, bad] };
    await expect(validateConfig(config)).rejects.toThrow(message);
  });

  it("refuses a release command with an unclosed quote", async () => {
    await expect(validateConfig({ stackName: "shop", region: "eu-west-1", release: ['artisan "migrate'] })).rejects.toThrow(/release\[0\] .* has an unclosed double quote/);
  });
});

describe("command lines", () => {
  it("split into words as a shell would, without running anything", () => {
    expect(splitCommandLine(`scripts/x.php --days 7 'a b; rm -rf /' "c \\"d\\"" e\\ f $HOME`)).toEqual(["scripts/x.php", "--days", "7", "a b; rm -rf /", 'c "d"', "e f", "$HOME"]);
    expect(splitCommandLine(`x.php ''`)).toEqual(["x.php", ""]);
  });
});

describe("lamp info", () => {
  it("lists the console function and each schedule with its next run", () => {
    const now = at("2026-12-05T10:00:00Z");
    const schedules = listSchedules([{ run: "artisan schedule:run", rate: "1 minute" }, { run: "scripts/cleanup.php --days 7", cron: "0 3 * * ? *", timezone: "Europe/Paris" }], now);
    const lines = formatStackInfo(
      { exists: true, stackName: "shop", region: "eu-west-1", stackId: "id", status: "UPDATE_COMPLETE", outputs: {}, console: { functionName: "shop-ConsoleFunction-abc" }, schedules },
      now,
    );
    expect(lines).toContain("Console    shop-ConsoleFunction-abc (lamp run --remote)");
    expect(lines).toContain("Schedule   artisan schedule:run  rate(1 minute) · every 1 minute");
    expect(lines).toContain("Schedule   scripts/cleanup.php --days 7  cron(0 3 * * ? *) Europe/Paris · next 2026-12-06T02:00Z");
  });
});
