import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";
import { LampError } from "../core/errors.js";

interface LogsFlags {
  since?: string;
  follow?: boolean;
  filter?: string;
  raw?: boolean;
  logGroup?: string;
  poll?: boolean;
}

export function logsCommand(run: RunWithContext): Command {
  return new Command("logs")
    .description("show the function's logs: PHP errors highlighted, Lambda's noise folded; -f follows live")
    .option("--since <when>", "start this long ago (30s, 10m, 2h, 1d) or at a date (2024-05-01T10:00)", "10m")
    .option("-f, --follow", "keep printing new lines as they arrive (Live Tail; polling when unavailable) until Ctrl-C")
    .option("--filter <pattern>", 'only lines matching a CloudWatch Logs filter pattern, e.g. "?Fatal ?Warning"')
    .option("--raw", "print messages exactly as logged, without time, request id or folding")
    .option("--log-group <name>", "read this log group (name or ARN) instead of the stack's")
    .option("--poll", "follow by polling FilterLogEvents instead of Live Tail (which is billed per minute)")
    .addHelpText("after", "\nWith --json (global), each event is one JSON object per line on stdout.")
    .action(async (flags: LogsFlags, command: Command) =>
      run(command, async (ctx) => {
        if (flags.raw && ctx.ui.json) throw new LampError("usage", "--raw and --json cannot be used together.", "Pick one output format.");
        if (flags.poll && !flags.follow) throw new LampError("usage", "--poll only applies with --follow.", "Add -f, or drop --poll.");
        const { logs } = await import("../logs/logs.js");
        await logs(
          {
            since: flags.since,
            follow: Boolean(flags.follow),
            filter: flags.filter,
            format: ctx.ui.json ? "json" : flags.raw ? "raw" : "pretty",
            logGroup: flags.logGroup,
            poll: Boolean(flags.poll),
          },
          ctx,
        );
      }),
    );
}
