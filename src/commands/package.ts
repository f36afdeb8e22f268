import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";

interface PackageFlags {
  out?: string;
}

export function packageCommand(run: RunWithContext): Command {
  return new Command("package")
    .description("write what `lamp deploy` would send, without AWS: the CloudFormation template (JSON), the code zip and a summary")
    .option("--out <dir>", "the folder to write into (default: .lamp/package)")
    .addHelpText(
      "after",
      "\nNo AWS call and no credentials. The template's CodeUri names code.zip beside it, so `sam deploy --template-file" +
        "\n<dir>/template.json` or `aws cloudformation package` can deploy the folder; values only a deploy knows (a custom" +
        "\ndomain's certificate) are CloudFormation parameters, which `lamp deploy` fills.",
    )
    .action(async (flags: PackageFlags, command: Command) =>
      run(command, async (ctx) => {
        const { packageProject, formatPackageSummary } = await import("../deploy/package-project.js");
        const result = await packageProject({ root: ctx.cwd, out: flags.out }, ctx);
        // The summary is the command's data: stdout (with --json, stdout holds the one JSON object).
        if (!ctx.ui.json) for (const line of formatPackageSummary(result)) ctx.ui.out(line);
        ctx.ui.success(`Wrote ${result.out}`);
        ctx.ui.result(result);
      }),
    );
}
