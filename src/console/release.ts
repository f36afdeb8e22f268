import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError, isLampError } from "../core/errors.js";
import { splitCommandLine } from "../project/command-line.js";
import { runRemote } from "./remote.js";

/**
 * lamp.json's `release`: commands run in the console function after a deploy that changed
 * something (migrations), one after another, each one's output shown as it runs. The first that
 * fails stops the rest.
 */

export interface ReleaseReport {
  commands: { command: string; exitCode: number; durationMs: number; requestId?: string }[];
  /** The command that failed, and how: its exit code, or what kept it from finishing. */
  failed?: { command: string; exitCode?: number; reason?: string };
}

export async function runRelease(project: Project, ctx: Context): Promise<ReleaseReport | undefined> {
  const commands = project.config.release ?? [];
  if (commands.length === 0) return undefined;
  const report: ReleaseReport = { commands: [] };
  for (const command of commands) {
    ctx.ui.info(`Release: ${command}`);
    try {
      const result = await runRemote({ project, args: splitCommandLine(command) }, ctx);
      report.commands.push({ command, exitCode: result.exitCode, durationMs: result.durationMs, requestId: result.requestId });
      if (result.exitCode !== 0) {
        report.failed = { command, exitCode: result.exitCode };
        return report;
      }
    } catch (error) {
      if (ctx.signal.aborted || !isLampError(error)) throw error;
      report.failed = { command, reason: error.message };
      return report;
    }
  }
  return report;
}

/** A failed release as the one line deploy ends with: what failed, what state the site is in, what to do. */
export function releaseFailure(report: ReleaseReport, release: readonly string[], siteUrl: string | undefined): LampError | undefined {
  const failed = report.failed;
  if (!failed) return undefined;
  const how = failed.exitCode !== undefined ? `exited with code ${failed.exitCode}` : `did not finish: ${failed.reason}`;
  const skipped = release.slice(release.indexOf(failed.command) + 1);
  return new LampError(
    "failed",
    `Release command "${failed.command}" ${how}. The deploy itself succeeded: the new code is live${siteUrl ? ` at ${siteUrl}` : ""}, ` +
      `with whatever the command changed before it stopped${skipped.length > 0 ? `; not run: ${skipped.map((command) => `"${command}"`).join(", ")}` : ""}.`,
    `Fix the cause (its output is above), then run it with \`lamp run --remote -- ${failed.command}\`${skipped.length > 0 ? " and the ones after it" : ""}.`,
  );
}
