import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";
import { LampError, errorData } from "../core/errors.js";
import { wholeNumberFlag } from "../core/flags.js";

interface SyncAssetsFlags {
  dir?: string;
  bucket?: string;
  distributionId?: string;
  delete: boolean;
  dryRun?: boolean;
  force?: boolean;
  full?: boolean;
  concurrency?: string;
  invalidate: boolean;
  wait?: boolean;
}

export function syncAssetsCommand(run: RunWithContext): Command {
  return new Command("sync-assets")
    .description("upload the assets folder (served at /assets/*) and the document root's static files (served at their own paths) to the stack's private bucket, and invalidate what changed in CloudFront")
    .option("--dir <path>", 'the assets folder (default: lamp.json "assets.dir", "assets")')
    .option("--bucket <name>", "the bucket (default: the stack's AssetsBucketName output)")
    .option("--distribution-id <id>", "the CloudFront distribution to invalidate (default: the stack's DistributionId output)")
    .option("--delete", "remove objects under assets/ that no longer exist locally, after uploading", true)
    .option("--no-delete", "keep objects that no longer exist locally")
    .option("--dry-run", "print what would be uploaded, deleted and invalidated; change nothing")
    .option("--force", "upload every file, even unchanged ones (and allow an empty folder to delete every asset)")
    .option("--full", "list the bucket and compare every object, even when lamp's last sync left it unchanged (finds objects changed or deleted by other tools)")
    .option("--concurrency <n>", "files uploaded at once, 1-256 (default: 16)")
    .option("--no-invalidate", "do not invalidate changed paths in CloudFront")
    .option("--wait", "wait until the CloudFront invalidation has completed")
    .action(async (flags: SyncAssetsFlags, command: Command) =>
      run(command, async (ctx) => {
        const concurrency = flags.concurrency === undefined ? undefined : wholeNumberFlag("--concurrency", flags.concurrency, 1, 256, 16);
        const { findProject, loadProject } = await import("../project/config.js");
        // Outside a project, an explicit bucket and folder are enough.
        const project = flags.bucket && flags.dir ? await findProject(ctx.cwd, ctx.stage) : await loadProject(ctx.cwd, ctx.stage);
        const config = project?.config;
        const region = ctx.aws.region(config?.region);
        if (!region) throw new LampError("region", "No AWS region set.", "Pass --region, set AWS_REGION or a region in your AWS profile, or run inside a project with lamp.json.");

        let bucket = flags.bucket;
        let distributionId = flags.distributionId;
        if (!bucket && config) {
          const { readStackOutputs } = await import("../project/stack-outputs.js");
          const outputs = await readStackOutputs(ctx, config.stackName, region);
          bucket = outputs.assetsBucket;
          distributionId ??= outputs.distributionId;
          if (!bucket) {
            throw new LampError("stack-state", `Stack "${config.stackName}" has no AssetsBucketName output.`, "Redeploy with `lamp deploy`, or pass --bucket.");
          }
        }

        const { syncProjectStaticFiles, projectSyncFailure } = await import("../assets/project-sync.js");
        const result = await syncProjectStaticFiles(
          {
            project,
            target: { bucket: bucket!, region, distributionId },
            assetsDir: flags.dir,
            options: { delete: flags.delete, dryRun: Boolean(flags.dryRun), force: Boolean(flags.force), full: Boolean(flags.full), concurrency, invalidate: flags.invalidate, wait: Boolean(flags.wait) },
            missingAssetsFolder: "fail",
          },
          ctx,
        );
        // "fail" above: the assets folder's sync always runs, so there is a result.
        const failure = projectSyncFailure(result!);
        ctx.ui.result(failure ? { ...result, error: errorData(failure) } : result);
        if (failure) throw failure;
      }),
    );
}
