import { LampError } from "../core/errors.js";

const unitMs: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const unitAliases: Record<string, string> = {
  s: "s", sec: "s", secs: "s", second: "s", seconds: "s",
  m: "m", min: "m", mins: "m", minute: "m", minutes: "m",
  h: "h", hr: "h", hrs: "h", hour: "h", hours: "h",
  d: "d", day: "d", days: "d",
  w: "w", week: "w", weeks: "w",
};

/**
 * `--since`: how long ago (30s, 10m, 2h, 1d, 1w, "90 minutes") or a date (2024-05-01,
 * 2024-05-01T10:00, with or without a zone; without one it is local time). Returns epoch ms.
 */
export function parseSince(text: string, now: number): number {
  const value = text.trim();
  const relative = /^(\d+(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?$/i.exec(value);
  if (relative) {
    const unit = unitAliases[relative[2]!.toLowerCase()];
    if (unit) return now - Math.round(Number(relative[1]) * unitMs[unit]!);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    // A bare date means local midnight; JavaScript would read it as UTC.
    const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00` : value);
    if (Number.isFinite(time)) {
      if (time > now) {
        throw new LampError("usage", `--since ${text} is in the future.`, "Give a past date, or a duration such as 10m or 2h.");
      }
      return time;
    }
  }
  throw new LampError(
    "usage",
    `Unknown duration "${text}" for --since.`,
    "Use a duration such as 30s, 10m, 2h or 1d, or a date such as 2024-05-01T10:00.",
  );
}
