import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";

export function infoCommand(run: RunWithContext): Command {
  return new Command("info")
    .description("show the deployed stack: status, last update, URL, distribution, bucket, function, log group; the custom domain and its certificate; mail.from's SES identity")
    .action(async (_flags: object, command: Command) =>
      run(command, async (ctx) => {
        const { stackInfo, formatStackInfo } = await import("../deploy/info.js");
        const info = await stackInfo(ctx.cwd, ctx);
        if (!info.exists) {
          ctx.ui.info(`Stack ${info.stackName} is not deployed in ${info.region} yet. Run \`lamp deploy${ctx.stage ? ` --stage ${ctx.stage}` : ""}\` to create it.`);
        }
        // --json: stdout carries the one JSON object only.
        if (!ctx.ui.json) for (const line of formatStackInfo(info, ctx.clock.now())) ctx.ui.out(line);
        ctx.ui.result(info);
      }),
    );
}
