import { describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { parseSince } from "../../src/logs/since.js";

const now = Date.parse("2026-01-15T12:00:00Z");

describe("--since", () => {
  it("reads durations back from now", () => {
    expect(parseSince("30s", now)).toBe(now - 30_000);
    expect(parseSince("10m", now)).toBe(now - 600_000);
    expect(parseSince("2h", now)).toBe(now - 7_200_000);
    expect(parseSince("1d", now)).toBe(now - 86_400_000);
    expect(parseSince("90 minutes", now)).toBe(now - 5_400_000);
    expect(parseSince("1.5h", now)).toBe(now - 5_400_000);
  });

  it("reads ISO dates; without a zone they are local time", () => {
    expect(parseSince("2026-01-15T10:00:00Z", now)).toBe(Date.parse("2026-01-15T10:00:00Z"));
    expect(parseSince("2026-01-15T10:00", now)).toBe(new Date(2026, 0, 15, 10, 0).getTime());
    expect(parseSince("2026-01-14", now)).toBe(new Date(2026, 0, 14).getTime());
  });

  it("an unknown duration is a usage error that shows the accepted forms", () => {
    for (const text of ["5 fortnights", "yesterday", "10", "-5m", ""]) {
      const error = (() => {
        try {
          parseSince(text, now);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error, text).toBeInstanceOf(LampError);
      expect((error as LampError).code).toBe("usage");
      expect((error as LampError).message).toBe(`Unknown duration "${text}" for --since.`);
      expect((error as LampError).hint).toMatch(/30s, 10m, 2h or 1d/);
    }
  });

  it("a date in the future is refused", () => {
    expect(() => parseSince("2027-01-01", now)).toThrow(/in the future/);
  });
});
