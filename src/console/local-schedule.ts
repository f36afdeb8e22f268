import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { formatSeconds } from "../core/clock.js";
import { parseSchedule, type Schedule } from "../project/schedule.js";

/**
 * lamp.json's schedules under `lamp dev`: each entry runs at its times as EventBridge Scheduler
 * would run it in Lambda (through the console handler, with the function's environment), one log
 * line per run with its exit code and duration, so a job that fails locally fails before it is
 * deployed. Time comes from ctx.clock, so tests drive it.
 */

export type ScheduleRunner = (args: string[], ctx: Context) => Promise<{ exitCode: number; durationMs: number }>;

export interface LocalSchedules {
  /** The entries with their next run, for the start banner. */
  readonly schedules: Schedule[];
  /** Stops the timers and waits for runs in progress (which ctx.signal stops). */
  stop(): Promise<void>;
}

export function startLocalSchedules(project: Project, ctx: Context, run: ScheduleRunner): LocalSchedules {
  const started = ctx.clock.now();
  const schedules = (project.config.schedule ?? []).map((entry) => parseSchedule(entry, started));
  const stopping = new AbortController();
  const stopAll = () => stopping.abort();
  ctx.signal.addEventListener("abort", stopAll, { once: true });
  const loops = schedules.map(async (schedule) => {
    let after = ctx.clock.now();
    for (;;) {
      const next = schedule.next(after);
      if (next === undefined) return;
      try {
        await ctx.clock.sleep(Math.max(0, next - ctx.clock.now()), stopping.signal);
      } catch {
        return;
      }
      after = next;
      const command = schedule.entry.run;
      try {
        const { exitCode, durationMs } = await run(schedule.args, ctx);
        const line = `schedule ${command}: exit code ${exitCode} in ${durationMs < 10_000 ? `${durationMs}ms` : formatSeconds(durationMs)}`;
        if (exitCode === 0) ctx.ui.info(line);
        else ctx.ui.warn(`${line} — in Lambda this run fails and lands in the schedule's dead-letter queue.`);
      } catch (error) {
        if (stopping.signal.aborted) return;
        ctx.ui.warn(`schedule ${command}: did not run: ${(error as Error).message}`);
      }
    }
  });
  return {
    schedules,
    stop: async () => {
      stopAll();
      ctx.signal.removeEventListener("abort", stopAll);
      await Promise.all(loops);
    },
  };
}

/** lamp.json's schedules under `lamp dev`: run at their times through the console handler, as in Lambda. */
export async function startDevSchedules(project: Project, readOnly: boolean, ctx: Context): Promise<{ stop(): Promise<void> } | undefined> {
  if ((project.config.schedule ?? []).length === 0) return undefined;
  const { runLocal } = await import("./local.js");
  const schedules = startLocalSchedules(project, ctx, (args, runCtx) => runLocal({ project, args, output: [1, 2], readOnly }, runCtx));
  const now = ctx.clock.now();
  for (const schedule of schedules.schedules) {
    const next = schedule.next(now);
    ctx.ui.note(ctx.ui.colors.dim(`  schedule ${schedule.entry.run} (${schedule.expression}${schedule.timezone === "UTC" ? "" : ` ${schedule.timezone}`}): next run ${next === undefined ? "never" : new Date(next).toISOString()}`));
  }
  return schedules;
}
