import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";
import { LampError, errorData } from "../core/errors.js";

interface DeployFlags {
  assets: boolean;
  force?: boolean;
  release: boolean;
}

export function deployCommand(run: RunWithContext): Command {
  return new Command("deploy")
    .description("package the project, deploy its stack through a CloudFormation change set, then sync the assets; prints the site URL")
    .option("--no-assets", "deploy the stack only; do not sync the assets folder")
    .option("--force", "skip the unchanged-deploy check: always ask CloudFormation for a change set")
    .option("--no-release", "do not run lamp.json's release commands after this deploy")
    .addHelpText(
      "after",
      "\nWith --yes (global) a deploy that deletes or replaces a bucket or log group goes ahead without asking." +
        "\nWith lamp.json's domain it first gets the certificate (ACM, us-east-1) and afterwards points the names at the site" +
        "\n(Route 53), or prints the DNS records to add; Ctrl-C while it waits for the certificate is safe: run it again to resume." +
        "\nWith lamp.json's mail.from it makes sure SES has a domain identity for the address's domain (Easy DKIM) and writes" +
        "\nits DKIM records into Route 53, or prints them.",
    )
    .action(async (flags: DeployFlags, command: Command) =>
      run(command, async (ctx) => {
        const { deploy } = await import("../deploy/deploy.js");
        const result = await deploy({ root: ctx.cwd, assets: flags.assets, force: Boolean(flags.force), release: flags.release }, ctx);
        const { ui } = ctx;
        if (result.status === "failed") {
          for (const reason of result.reasons) ui.warn(`Cause: ${reason}`);
          const rolledBackCreate = result.stackStatus === "ROLLBACK_COMPLETE";
          const failure = new LampError(
            "failed",
            result.stage === "change-set"
              ? `CloudFormation rejected the template of ${result.stackName}; nothing was changed.`
              : `Deploy of ${result.stackName} failed: ${result.stackStatus ?? "unknown status"}.`,
            rolledBackCreate
              ? "Fix the cause above; the next `lamp deploy` removes the rolled-back stack and creates it again."
              : result.stage === "change-set"
                ? "Fix template.yaml and deploy again."
                : "The stack is back to its previous state. Fix the cause above and deploy again.",
          );
          ui.result({ ...result, error: errorData(failure) });
          throw failure;
        }
        const url = result.outputs.siteUrl;
        if (url) ui.success(`Live at ${ui.colors.bold(url)}`);
        else {
          ui.warn(
            `The stack ${result.stackName} has no SiteUrl output, so lamp cannot say where the site is. ` +
              "Restore Outputs.SiteUrl in template.yaml (as `lamp init` writes it), or find the distribution's domain in the CloudFront console.",
          );
        }
        const assetsFailure = result.assets && (await import("../assets/project-sync.js")).projectSyncFailure(result.assets);
        const releaseFailure =
          result.status === "deployed" && result.release
            ? (await import("../console/release.js")).releaseFailure(result.release, (await (await import("../project/config.js")).loadProject(ctx.cwd, ctx.stage)).config.release ?? [], url)
            : undefined;
        const failure = releaseFailure ?? (assetsFailure && new LampError(assetsFailure.code, `The stack is deployed, but the assets are not: ${assetsFailure.message}`, assetsFailure.hint));
        ui.result(failure ? { ...result, error: errorData(failure) } : result);
        if (failure) throw failure;
      }),
    );
}
