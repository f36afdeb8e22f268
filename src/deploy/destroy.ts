import { CloudFormationClient, DeleteStackCommand, type Stack } from "@aws-sdk/client-cloudformation";
import { loadProject } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError, reportingCancellation } from "../core/errors.js";
import { describeStack, outputsOf } from "../project/stack-outputs.js";
import { deployedDatabase } from "../database/remote.js";
import { bootstrapStackName, bucketOutput } from "./artifacts.js";
import { deleteBucket, emptyBucket } from "./bucket.js";
import { detachDomain } from "../domain/domain.js";
import { mailDomain } from "../mail/identity.js";
import { followStack, isDeleteStatus } from "./events.js";
import { secretsPath } from "../secrets/names.js";
import { deleteSecrets, listSecrets } from "../secrets/store.js";

export interface DestroyOptions {
  root: string;
  /** Also delete the artifacts bucket and its bootstrap stack (shared by every lamp project in the account and region). */
  all: boolean;
}

export interface DestroyResult {
  stackName: string;
  region: string;
  status: "deleted" | "not-found" | "failed";
  /** Object versions and delete markers removed from the assets bucket. */
  assetObjectsDeleted: number;
  artifacts: "kept" | "deleted" | "not-found";
  reasons: string[];
  /** lamp.json's domain had been deployed: the alias records removed from Route 53, the certificate kept. */
  domain?: { names: string[]; certificateArn?: string; removedRecords: string[] };
  /** The stage's secrets (lamp secret set), deleted with the stack: their names. */
  secretsDeleted?: string[];
  /** A stack with a database: its final snapshot and its secret are kept. */
  database?: { cluster: string; finalSnapshot: "kept" | "none"; secret: string };
}

/** Deletes what `lamp deploy` made for this project: the assets (every version), then the stack. */
export async function destroy(options: DestroyOptions, ctx: Context): Promise<DestroyResult> {
  return reportingCancellation(ctx.signal, () => destroyProject(options, ctx));
}

async function destroyProject(options: DestroyOptions, ctx: Context): Promise<DestroyResult> {
  const { config } = await loadProject(options.root, ctx.stage);
  const stackName = config.stackName;
  const region = ctx.aws.region(config.region) ?? config.region;
  const { ui } = ctx;
  const stack = await describeStack(ctx, stackName, region);
  const result: DestroyResult = { stackName, region, status: "not-found", assetObjectsDeleted: 0, artifacts: "kept", reasons: [] };

  if (!stack) {
    ui.info(`Stack ${stackName} does not exist in ${region}: nothing to delete.`);
  } else {
    const status = stack.StackStatus ?? "";
    if (status.endsWith("_IN_PROGRESS") && status !== "REVIEW_IN_PROGRESS" && status !== "DELETE_IN_PROGRESS") {
      throw new LampError("stack-state", `${stackName} is busy (${status}).`, "Wait until it finishes (`lamp info`), then run `lamp destroy` again.");
    }
    const outputs = outputsOf(stack);
    const database = announceDatabase(ctx, stack, config.database?.finalSnapshot !== false);
    if (database) result.database = database;
    const secrets = await listSecrets(ctx, { stackName, region });
    if (!ctx.yes) {
      ui.warn(
        `This deletes ${stackName} in ${region}: the function, the API, the CloudFront distribution, the logs${outputs.assetsBucket ? ` and every file in s3://${outputs.assetsBucket}` : ""}.` +
          (secrets.length > 0 ? ` Its secrets go too: ${secrets.map((secret) => secret.name).join(", ")} (${secretsPath(stackName)}/).` : "") +
          (outputs.domainNames ? ` ${outputs.domainNames.split(",").join(", ")} stop${outputs.domainNames.includes(",") ? "" : "s"} answering (lamp's Route 53 alias records go; the certificate stays).` : ""),
      );
      await ctx.prompt.text({
        message: `Type the stack name (${stackName}) to delete it`,
        flag: "--yes",
        validate: (value) => (value === stackName ? undefined : `Type ${stackName} exactly, or press Ctrl-C to keep it.`),
      });
    }
    if (outputs.assetsBucket) {
      const emptying = ui.progress(`Emptying s3://${outputs.assetsBucket}`);
      result.assetObjectsDeleted = await emptyBucket(ctx, outputs.assetsBucket, region);
      emptying.done(`Emptied s3://${outputs.assetsBucket} (${result.assetObjectsDeleted} object versions)`);
    }
    const outcome = await deleteStack(ctx, stack, stackName, region);
    if (outcome.status !== "DELETE_COMPLETE") {
      return { ...result, status: "failed", reasons: outcome.reasons };
    }
    result.status = "deleted";
    ui.success(`Deleted ${stackName}`);
    if (secrets.length > 0) {
      result.secretsDeleted = await deleteSecrets(ctx, { stackName, region, names: secrets.map((secret) => secret.name) });
      ui.success(`Deleted its secrets: ${result.secretsDeleted.join(", ")}`);
    }
    if (outputs.domainNames) {
      const names = outputs.domainNames.split(",");
      const removedRecords = await detachDomain(ctx, { names, distributionDomainName: outputs.distributionDomainName }, outputs.certificateArn);
      result.domain = { names, certificateArn: outputs.certificateArn, removedRecords };
    }
  }

  if (stack && config.mail) {
    // Other senders (another stage, another app) may send as the same domain: not lamp's to remove.
    ui.info(`The SES identity ${mailDomain(config.mail.from)} (lamp.json's mail.from) and its DKIM records stay; delete them in the SES console and your DNS if nothing else sends as that domain.`);
  }
  if (options.all) result.artifacts = await destroyArtifacts(ctx, region);
  else ui.debug(`Kept the artifacts bucket (stack ${bootstrapStackName}); --all deletes it too.`);
  return result;
}

/** Said before asking: what happens to the data is the first thing a person deleting a stack wants to know. */
function announceDatabase(ctx: Context, stack: Stack, keepSnapshot: boolean): DestroyResult["database"] {
  const database = deployedDatabase(stack);
  if (!database) return undefined;
  if (!keepSnapshot) {
    ctx.ui.info(`The database ${database.name ?? ""} (cluster ${database.clusterId}) is deleted with its password secret and no final snapshot (lamp.json's database.finalSnapshot is false for this stage).`);
    return { cluster: database.clusterId, finalSnapshot: "none", secret: "deleted" };
  }
  ctx.ui.info(
    `The database ${database.name ?? ""} (cluster ${database.clusterId}) is not lost: CloudFormation keeps a final snapshot of it ` +
      "(RDS → Snapshots; storage is billed until you delete it), and its secret with the password stays in Secrets Manager " +
      `(${database.secretArn ?? "the stack's DatabaseSecret"}) so a restored snapshot can be opened.`,
  );
  return { cluster: database.clusterId, finalSnapshot: "kept", secret: database.secretArn ?? "kept" };
}

/** Deletes the stack and follows it; Ctrl-C stops following, not CloudFormation (said so). */
async function deleteStack(ctx: Context, stack: Stack, stackName: string, region: string): Promise<Awaited<ReturnType<typeof followStack>>> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  const stackId = stack.StackId ?? stackName;
  const since = ctx.clock.now();
  await cloudformation.send(new DeleteStackCommand({ StackName: stackId }), { abortSignal: ctx.signal });
  try {
    // Allow for clock skew: only DELETE_* statuses end the wait, so older events cannot.
    return await followStack(ctx, { stackName, stackId, region, since: since - 60_000, verb: "Deleting", isFinal: isDeleteStatus });
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
    throw new LampError("cancelled", `Stopped following, but CloudFormation continues deleting ${stackName}.`, "Check on it with `lamp info`.");
  }
}

async function destroyArtifacts(ctx: Context, region: string): Promise<DestroyResult["artifacts"]> {
  const bootstrap = await describeStack(ctx, bootstrapStackName, region);
  if (!bootstrap) return "not-found";
  const bucket = bootstrap.Outputs?.find((output) => output.OutputKey === bucketOutput)?.OutputValue;
  ctx.ui.warn(`Deleting the artifacts bucket${bucket ? ` ${bucket}` : ""}: every lamp project in ${region} shares it (the next deploy creates it again).`);
  if (bucket) {
    await emptyBucket(ctx, bucket, region);
    // The bootstrap stack retains its bucket, so it is deleted here, not by CloudFormation.
    await deleteBucket(ctx, bucket, region);
  }
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  const since = ctx.clock.now();
  await cloudformation.send(new DeleteStackCommand({ StackName: bootstrap.StackId ?? bootstrapStackName }), { abortSignal: ctx.signal });
  const outcome = await followStack(ctx, { stackName: bootstrapStackName, stackId: bootstrap.StackId ?? bootstrapStackName, region, since: since - 60_000, verb: "Deleting", isFinal: isDeleteStatus });
  if (outcome.status !== "DELETE_COMPLETE") {
    throw new LampError("aws", `Could not delete ${bootstrapStackName}: ${outcome.reasons.join("; ") || outcome.status}.`);
  }
  ctx.ui.success(`Deleted the artifacts bucket and ${bootstrapStackName}`);
  return "deleted";
}
