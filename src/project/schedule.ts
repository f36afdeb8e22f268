import { splitCommandLine } from "./command-line.js";

/**
 * lamp.json's `schedule`: EventBridge Scheduler's cron and rate expressions, checked when lamp.json
 * is read (so a typo fails before a deploy, not in CloudFormation), and their next run computed for
 * `lamp dev` and `lamp info`. Pure: time comes in as an argument.
 */

export interface ScheduleEntry {
  run: string;
  cron?: string;
  rate?: string;
  /** IANA time zone of a cron expression; UTC when absent. */
  timezone?: string;
}

/** A checked entry: its arguments, and when it runs. */
export interface Schedule {
  entry: ScheduleEntry;
  args: string[];
  /** The expression EventBridge Scheduler receives: `cron(...)` or `rate(...)`. */
  expression: string;
  timezone: string;
  /** The first run strictly after `after` (ms since the epoch); undefined when it never runs again. */
  next(after: number): number | undefined;
}

type Matcher = (value: number) => boolean;

const monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** `*`, `5`, `1-5`, `*\/15`, `10-40/10`, `1,3,5`, and names (JAN, MON) where the field has them. */
function parseField(text: string, name: string, min: number, max: number, names: string[] = [], nameBase = 1): Matcher {
  const value = (part: string): number => {
    const upper = part.toUpperCase();
    const named = names.indexOf(upper);
    const number = named >= 0 ? named + nameBase : /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(number >= min && number <= max)) throw new Error(`${name} "${part}" is not ${names.length ? `${min}-${max} or ${names[0]}-${names.at(-1)}` : `${min}-${max}`}`);
    return number;
  };
  const allowed = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!(Number.isInteger(step) && step >= 1) || range === undefined || range === "") throw new Error(`${name} "${part}" is not a value, range or step`);
    let from: number;
    let to: number;
    if (range === "*") [from, to] = [min, max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [from, to] = [value(a ?? ""), value(b ?? "")];
      if (from > to) throw new Error(`${name} range "${range}" runs backwards`);
    } else [from, to] = [value(range), stepText === undefined ? value(range) : max];
    for (let n = from; n <= to; n += step) allowed.add(n);
  }
  return (n) => allowed.has(n);
}

interface Day {
  year: number;
  month: number;
  day: number;
  weekday: number;
  daysInMonth: number;
}

function dayOfMonthMatcher(text: string): (day: Day) => boolean {
  if (text === "L") return (d) => d.day === d.daysInMonth;
  const weekday = /^(\d{1,2})W$/.exec(text);
  if (weekday) {
    const target = Number(weekday[1]);
    if (target < 1 || target > 31) throw new Error(`day-of-month "${text}" is not 1W-31W`);
    // The weekday nearest the target day, within the same month.
    return (d) => {
      const wanted = Math.min(target, d.daysInMonth);
      const targetWeekday = (d.weekday + (wanted - d.day) + 7 * 6) % 7;
      let nearest = wanted;
      if (targetWeekday === 6) nearest = wanted === 1 ? 3 : wanted - 1;
      if (targetWeekday === 0) nearest = wanted === d.daysInMonth ? wanted - 2 : wanted + 1;
      return d.day === nearest;
    };
  }
  const match = parseField(text, "day-of-month", 1, 31);
  return (d) => match(d.day);
}

function dayOfWeekMatcher(text: string): (day: Day) => boolean {
  const nth = /^([1-7]|[A-Za-z]{3})#([1-5])$/.exec(text);
  if (nth) {
    const wanted = parseField(nth[1]!, "day-of-week", 1, 7, dayNames);
    const index = Number(nth[2]);
    return (d) => wanted(d.weekday + 1) && Math.ceil(d.day / 7) === index;
  }
  const last = /^([1-7]|[A-Za-z]{3})L$/.exec(text);
  if (last) {
    const wanted = parseField(last[1]!, "day-of-week", 1, 7, dayNames);
    return (d) => wanted(d.weekday + 1) && d.day + 7 > d.daysInMonth;
  }
  if (text === "L") return (d) => d.weekday === 6;
  // EventBridge numbers the days 1 (Sunday) to 7 (Saturday).
  const match = parseField(text, "day-of-week", 1, 7, dayNames);
  return (d) => match(d.weekday + 1);
}

/** The local calendar fields of an instant in a time zone. */
function localTime(time: number, format: Intl.DateTimeFormat): { year: number; month: number; day: number; hour: number; minute: number; weekday: number } {
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(time)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: dayNames.indexOf((parts.weekday ?? "").toUpperCase()),
  };
}

function timeZoneFormat(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
}

const minute = 60_000;

/** An EventBridge cron expression (6 fields) -> the next-run function. Throws a plain Error saying what is wrong. */
function parseCron(expression: string, timezone = "UTC"): (after: number) => number | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`has ${fields.length} fields; EventBridge's cron has 6: minutes hours day-of-month month day-of-week year, e.g. "0 3 * * ? *"`);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) throw new Error(`needs "?" in exactly one of day-of-month ("${dayOfMonth}") and day-of-week ("${dayOfWeek}"), e.g. "0 3 * * ? *"`);
  const minuteOk = parseField(minutes, "minutes", 0, 59);
  const hourOk = parseField(hours, "hours", 0, 23);
  const monthOk = parseField(month, "month", 1, 12, monthNames);
  const yearOk = parseField(year, "year", 1970, 2199);
  const dayOk = dayOfMonth === "?" ? dayOfWeekMatcher(dayOfWeek) : dayOfMonthMatcher(dayOfMonth);
  const format = timeZoneFormat(timezone);
  return (after) => {
    let time = Math.floor(after / minute) * minute + minute;
    // Skips whole days and hours that cannot match; bounded so an expression whose years are past ends.
    for (let steps = 0; steps < 200_000; steps += 1) {
      const local = localTime(time, format);
      if (local.year > 2199) return undefined;
      const daysInMonth = new Date(Date.UTC(local.year, local.month, 0)).getUTCDate();
      const day: Day = { year: local.year, month: local.month, day: local.day, weekday: local.weekday, daysInMonth };
      if (!yearOk(local.year) || !monthOk(local.month) || !dayOk(day)) {
        time += ((23 - local.hour) * 60 + (60 - local.minute)) * minute;
      } else if (!hourOk(local.hour)) {
        time += (60 - local.minute) * minute;
      } else if (!minuteOk(local.minute)) {
        time += minute;
      } else {
        return time;
      }
    }
    return undefined;
  };
}

/** `5 minutes`, `1 hour`, `2 days` -> the interval in ms. EventBridge wants the singular for 1 and the plural otherwise. */
function parseRate(text: string): number {
  const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(text.trim());
  if (!match) throw new Error(`is not "<number> minute(s)|hour(s)|day(s)", e.g. "5 minutes"`);
  const value = Number(match[1]);
  const unit = match[2]!;
  if (value < 1) throw new Error("must be at least 1");
  if ((value === 1) !== !unit.endsWith("s")) throw new Error(`says "${value} ${unit}"; EventBridge wants "${value} ${value === 1 ? unit.replace(/s$/, "") : `${unit.replace(/s$/, "")}s`}"`);
  return value * { minute: minute, hour: 60 * minute, day: 24 * 60 * minute }[unit.replace(/s$/, "") as "minute" | "hour" | "day"];
}

function checkTimezone(timezone: string): void {
  try {
    timeZoneFormat(timezone);
  } catch {
    throw new Error(`timezone "${timezone}" is not an IANA time zone such as "Europe/Paris"`);
  }
}

/**
 * Checks one entry and makes it a Schedule. A rate's runs are counted from `origin` (in Lambda,
 * from when the schedule was created; under lamp dev, from when it started). Throws a plain Error.
 */
export function parseSchedule(entry: ScheduleEntry, origin = 0): Schedule {
  let args: string[];
  try {
    args = splitCommandLine(entry.run);
  } catch (error) {
    throw new Error(`run has ${(error as Error).message}`);
  }
  if (args.length === 0) throw new Error("run is empty; give a script and its arguments, e.g. \"artisan schedule:run\"");
  if ((entry.cron === undefined) === (entry.rate === undefined)) throw new Error('needs either "cron" or "rate"');
  const timezone = entry.timezone ?? "UTC";
  checkTimezone(timezone);
  if (entry.cron !== undefined) {
    let next: (after: number) => number | undefined;
    try {
      next = parseCron(entry.cron, timezone);
    } catch (error) {
      throw new Error(`cron "${entry.cron}" ${(error as Error).message}`);
    }
    return { entry, args, expression: `cron(${entry.cron.trim()})`, timezone, next };
  }
  let interval: number;
  try {
    interval = parseRate(entry.rate!);
  } catch (error) {
    throw new Error(`rate "${entry.rate}" ${(error as Error).message}`);
  }
  const next = (after: number) => origin + (Math.floor((after - origin) / interval) + 1) * interval;
  return { entry, args, expression: `rate(${entry.rate!.trim()})`, timezone, next };
}

/** How an entry is named in messages: its position and its command. */
export function describeEntry(index: number, entry: ScheduleEntry): string {
  return `schedule[${index}] (${JSON.stringify(entry.run)})`;
}

/** A schedule as `lamp info` lists it. */
export interface ScheduleListing {
  run: string;
  expression: string;
  timezone: string;
  /** ISO time of the next run of a cron expression; a rate's runs count from the schedule's creation, which lamp does not know. */
  nextRun?: string;
}

export function listSchedules(entries: readonly ScheduleEntry[], now: number): ScheduleListing[] {
  return entries.map((entry) => {
    const schedule = parseSchedule(entry);
    const next = entry.cron !== undefined ? schedule.next(now) : undefined;
    return { run: entry.run, expression: schedule.expression, timezone: schedule.timezone, ...(next !== undefined ? { nextRun: new Date(next).toISOString() } : {}) };
  });
}

export function formatScheduleListing(listing: ScheduleListing): string {
  const zone = listing.timezone === "UTC" ? "" : ` ${listing.timezone}`;
  const next = listing.nextRun ? `next ${listing.nextRun.replace(/:00\.000Z$/, "Z")}` : listing.expression.startsWith("rate(") ? `every ${listing.expression.slice(5, -1)}` : "no next run";
  return `${listing.run}  ${listing.expression}${zone} · ${next}`;
}
