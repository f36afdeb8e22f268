import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";
import { LampError } from "../core/errors.js";

interface DestroyFlags {
  all?: boolean;
}

export function destroyCommand(run: RunWithContext): Command {
  return new Command("destroy")
    .description("delete the project's stack: empties the assets bucket (every version), deletes the stack, follows it to the end")
    .option("--all", "also delete the artifacts bucket lamp keeps code packages in (shared by every lamp project in the account and region)")
    .addHelpText("after", "\nAsks you to type the stack name; --yes (global) skips that.")
    .action(async (flags: DestroyFlags, command: Command) =>
      run(command, async (ctx) => {
        const { destroy } = await import("../deploy/destroy.js");
        const result = await destroy({ root: ctx.cwd, all: Boolean(flags.all) }, ctx);
        ctx.ui.result(result);
        if (result.status === "failed") {
          for (const reason of result.reasons) ctx.ui.warn(reason);
          throw new LampError("failed", `Could not delete ${result.stackName}.`, "Fix the cause above and run `lamp destroy` again.");
        }
      }),
    );
}
