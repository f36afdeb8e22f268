import { readFileSync } from "node:fs";
import type { LogEvent } from "../../src/logs/events.js";

interface FixtureFile {
  about: string;
  events: { time: string; stream: string; message: string }[];
}

/** A fixture's events as CloudWatch delivers them (epoch-ms timestamps), each with an id. */
export function loadFixture(name: string): LogEvent[] {
  const file = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8")) as FixtureFile;
  return file.events.map((event, index) => ({
    timestamp: Date.parse(event.time),
    logStream: event.stream,
    message: event.message,
    eventId: `${name}-${index}`,
  }));
}
