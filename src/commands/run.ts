import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";

interface RunFlags {
  remote?: boolean;
  writable?: boolean;
}

export function runCommand(run: RunWithContext): Command {
  return new Command("run")
    .description("run a PHP script of the project (artisan, bin/console, scripts/x.php) as the console function runs it: locally with the function's environment, or in Lambda with --remote; exits with the script's exit code")
    .usage("[--remote | --writable] -- <script> [args...]")
    .argument("<script>", "the script, relative to the project folder")
    .argument("[args...]", "its arguments, each passed as one $argv entry (nothing goes through a shell)")
    .option("--remote", "run it in the deployed console function, its output shown live")
    .option("--writable", "locally, let the script write into the project folder; default: read-only, as /var/task is in Lambda")
    .action(async (script: string, args: string[], flags: RunFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { LampError, ScriptExitError }] = await Promise.all([import("../project/config.js"), import("../core/errors.js")]);
        if (flags.remote && flags.writable) throw new LampError("usage", "--writable is for local runs: in Lambda the code is always read-only (/var/task).", "Drop --writable, or --remote to run it locally.");
        const project = await loadProject(ctx.cwd, ctx.stage);
        const argv = [script, ...args];
        if (flags.remote) {
          const { runRemote } = await import("../console/remote.js");
          const result = await runRemote({ project, args: argv }, ctx);
          if (ctx.ui.json) ctx.ui.result(result);
          if (result.exitCode !== 0) throw new ScriptExitError(result.exitCode);
          return;
        }
        const { runLocal } = await import("../console/local.js");
        // With --json, stdout carries the result only: the script's output goes to stderr.
        const result = await runLocal({ project, args: argv, output: ctx.ui.json ? [2, 2] : [1, 2], ...(flags.writable ? { readOnly: false } : {}) }, ctx);
        if (ctx.ui.json) ctx.ui.result(result);
        if (result.exitCode !== 0) throw new ScriptExitError(result.exitCode);
      }),
    );
}
