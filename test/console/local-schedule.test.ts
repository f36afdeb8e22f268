import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../src/core/clock.js";
import { loadProject, type Project } from "../../src/project/config.js";
import { runLocal } from "../../src/console/local.js";
import { startLocalSchedules } from "../../src/console/local-schedule.js";
import { createTestContext } from "../helpers/context.js";
import { makeProject, type TestProject } from "../deploy/project.js";

/** A clock whose sleeps end only when the test moves time past them: minutes pass in microseconds. */
function manualClock(start: number): Clock & { advanceTo(time: number): void } {
  let now = start;
  const sleepers: { until: number; resolve(): void }[] = [];
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const sleeper = { until: now + ms, resolve };
        sleepers.push(sleeper);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    advanceTo: (time) => {
      now = time;
      for (const sleeper of sleepers.filter((candidate) => candidate.until <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition() && tries < 200; tries += 1) await new Promise((resolve) => setTimeout(resolve, 50));
}

let project: TestProject;
let loaded: Project;
const tag = randomUUID();
const ran = (name: string) => path.join(os.tmpdir(), `lamp-tick-${tag}-${name}`);

beforeAll(async () => {
  project = await makeProject();
  mkdirSync(path.join(project.root, "scripts"));
  copyFileSync(path.resolve("test/console/fixtures/tick.php"), path.join(project.root, "scripts", "tick.php"));
  loaded = await loadProject(project.root);
});
afterAll(async () => {
  await project.remove();
  for (const name of ["nightly", "failing"]) rmSync(ran(name), { force: true });
});

describe("lamp dev runs lamp.json's schedules at their times", () => {
  it("fires each entry at its next time through the console handler, one line per run with its exit code and duration", async () => {
    const start = Date.UTC(2026, 11, 5, 1, 59, 30);
    const clock = manualClock(start);
    const ctx = createTestContext({ clock, env: { PATH: process.env.PATH } });
    const config = {
      ...loaded.config,
      schedule: [
        { run: `scripts/tick.php ${ran("nightly")} 0`, cron: "0 3 * * ? *", timezone: "Europe/Paris" },
        { run: `scripts/tick.php ${ran("failing")} 3`, rate: "5 minutes" },
      ],
    };
    const runs = (kind: "info" | "warn") => ctx.ui.texts(kind).filter((line) => line.startsWith("schedule "));
    const schedules = startLocalSchedules({ ...loaded, config }, ctx, (args, runCtx) => runLocal({ project: { ...loaded, config }, args, output: [2, 2] }, runCtx));
    try {
      // 02:00 UTC is 03:00 in Paris in December: the nightly job is due in 30 s, the 5-minute one later.
      clock.advanceTo(start + 29_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(existsSync(ran("nightly"))).toBe(false);
      clock.advanceTo(Date.UTC(2026, 11, 5, 2, 0, 0));
      await until(() => runs("info").length > 0);
      expect(readFileSync(ran("nightly"), "utf8")).toBe(`scripts/tick.php ${ran("nightly")} 0\n`);
      expect(runs("info")).toEqual([expect.stringMatching(new RegExp(`^schedule scripts/tick.php ${ran("nightly")} 0: exit code 0 in \\d+ms$`))]);
      expect(existsSync(ran("failing"))).toBe(false);

      clock.advanceTo(start + 5 * 60_000);
      await until(() => runs("warn").length > 0);
      expect(runs("warn")).toEqual([expect.stringMatching(/: exit code 3 in \d+ms — in Lambda this run fails and lands in the schedule's dead-letter queue\.$/)]);
      // The next day's nightly run is scheduled, not run again now.
      expect(readFileSync(ran("nightly"), "utf8").split("\n").filter(Boolean)).toHaveLength(1);
    } finally {
      await schedules.stop();
    }
  }, 60_000);
});
