import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  paginateDescribeChangeSet,
  type Change,
  type DescribeChangeSetCommandOutput,
  type Parameter,
} from "@aws-sdk/client-cloudformation";
import type { Context } from "../core/context.js";
import { CancelledError, LampError } from "../core/errors.js";

/** How often a change set's status is checked while CloudFormation computes it. */
const changeSetPollMs = 2_000;

export interface ChangeSetRequest {
  stackName: string;
  region: string;
  type: "CREATE" | "UPDATE";
  templateBody?: string;
  templateUrl?: string;
  capabilities: string[];
  /** Values for the template's Parameters (the origin token: see deploy/origin-token.ts). */
  parameters?: Parameter[];
}

/** One line of the summary: what happens to a resource. */
export interface ResourceChange {
  action: "add" | "modify" | "remove" | "import" | "dynamic";
  logicalId: string;
  type: string;
  /** Modify only: the resource is replaced (a new physical resource; the old one is deleted). */
  replacement: "true" | "conditional" | "false";
  /** Its data would be lost: a bucket, a log group, a table... removed or replaced. */
  destructive: boolean;
}

export type ChangeSetOutcome =
  | { kind: "empty" }
  | { kind: "ready"; name: string; id: string; createdAt: number; changes: ResourceChange[] }
  | { kind: "rejected"; reason: string };

/** Resources that hold data a replacement or removal would lose. */
const statefulTypes = new Set([
  "AWS::S3::Bucket",
  "AWS::Logs::LogGroup",
  "AWS::DynamoDB::Table",
  "AWS::DynamoDB::GlobalTable",
  "AWS::RDS::DBInstance",
  "AWS::RDS::DBCluster",
  "AWS::EFS::FileSystem",
  "AWS::SQS::Queue",
  "AWS::Cognito::UserPool",
  "AWS::KMS::Key",
  "AWS::SecretsManager::Secret",
  "AWS::ElastiCache::ReplicationGroup",
]);

/** CloudFormation's two ways of saying "nothing to do": both are a success. */
export function isNoChangesReason(reason: string | undefined): boolean {
  return /didn't contain changes|No updates are to be performed/i.test(reason ?? "");
}

export function summarizeChanges(changes: readonly Change[]): ResourceChange[] {
  return changes.flatMap((change) => {
    const resource = change.ResourceChange;
    if (!resource) return [];
    const action = (resource.Action ?? "Dynamic").toLowerCase() as ResourceChange["action"];
    const replacement = (resource.Replacement ?? "False").toLowerCase() as ResourceChange["replacement"];
    const type = resource.ResourceType ?? "";
    const destructive = statefulTypes.has(type) && (action === "remove" || (action === "modify" && replacement !== "false"));
    return [{ action, logicalId: resource.LogicalResourceId ?? "?", type, replacement, destructive }];
  });
}

export function formatChange(change: ResourceChange): string {
  const symbol = { add: "+", modify: "~", remove: "-", import: "<", dynamic: "?" }[change.action];
  const replaced = change.action === "modify" && change.replacement !== "false" ? ` (replaced${change.replacement === "conditional" ? " if needed" : ""})` : "";
  return `  ${symbol} ${change.logicalId} ${change.type}${replaced}${change.destructive ? "  DATA LOSS" : ""}`;
}

export function countChanges(changes: readonly ResourceChange[]): string {
  const count = (action: ResourceChange["action"]) => changes.filter((change) => change.action === action).length;
  const replaced = changes.filter((change) => change.action === "modify" && change.replacement !== "false").length;
  return `${count("add")} to add, ${count("modify")} to modify${replaced ? ` (${replaced} replaced)` : ""}, ${count("remove")} to remove`;
}

/**
 * Deletes a change set that will not run; for a new stack, also the empty REVIEW_IN_PROGRESS
 * stack CloudFormation made to hold it. No abort signal: this is the cleanup after Ctrl-C.
 */
async function discardChangeSet(ctx: Context, request: Pick<ChangeSetRequest, "stackName" | "region" | "type">, name: string): Promise<void> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region: request.region });
  try {
    await cloudformation.send(new DeleteChangeSetCommand({ StackName: request.stackName, ChangeSetName: name }));
  } catch (error) {
    ctx.ui.debug(`Deleting change set ${name}: ${(error as Error).message}`);
  }
  if (request.type === "CREATE") {
    try {
      await cloudformation.send(new DeleteStackCommand({ StackName: request.stackName }));
    } catch (error) {
      ctx.ui.debug(`Deleting the empty stack ${request.stackName}: ${(error as Error).message}`);
    }
  }
}

/**
 * Creates the change set and waits until CloudFormation has computed it. An empty change set
 * is deleted and reported as such; Ctrl-C deletes it before the error propagates.
 */
export async function createChangeSet(ctx: Context, request: ChangeSetRequest): Promise<ChangeSetOutcome> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region: request.region });
  const name = `lamp-${new Date(ctx.clock.now()).toISOString().replace(/[-:.TZ]/g, "")}`;
  const progress = ctx.ui.progress(request.type === "CREATE" ? `Preparing to create ${request.stackName}` : `Computing the changes to ${request.stackName}`);
  try {
    const created = await cloudformation.send(
      new CreateChangeSetCommand({
        StackName: request.stackName,
        ChangeSetName: name,
        ChangeSetType: request.type,
        TemplateBody: request.templateBody,
        TemplateURL: request.templateUrl,
        Capabilities: request.capabilities as never,
        ...(request.parameters?.length ? { Parameters: request.parameters } : {}),
        Description: "lamp deploy",
      }),
      { abortSignal: ctx.signal },
    );
    let description: DescribeChangeSetCommandOutput;
    for (;;) {
      description = await cloudformation.send(new DescribeChangeSetCommand({ StackName: request.stackName, ChangeSetName: name }), { abortSignal: ctx.signal });
      if (description.Status === "CREATE_COMPLETE" || description.Status === "FAILED") break;
      await ctx.clock.sleep(changeSetPollMs, ctx.signal);
    }
    if (description.Status === "FAILED") {
      await discardChangeSet(ctx, request, name);
      if (isNoChangesReason(description.StatusReason)) {
        progress.done(`No changes to ${request.stackName}`);
        return { kind: "empty" };
      }
      progress.fail(`CloudFormation rejected the change set for ${request.stackName}`);
      return { kind: "rejected", reason: description.StatusReason ?? "no reason given" };
    }
    const changes = [...(description.Changes ?? [])];
    if (description.NextToken) {
      const pages = paginateDescribeChangeSet({ client: cloudformation, startingToken: description.NextToken }, { StackName: request.stackName, ChangeSetName: name }, { abortSignal: ctx.signal });
      for await (const page of pages) changes.push(...(page.Changes ?? []));
    }
    const summary = summarizeChanges(changes);
    progress.done(`Changes to ${request.stackName}: ${countChanges(summary)}`);
    return { kind: "ready", name, id: created.Id ?? name, createdAt: description.CreationTime?.getTime() ?? ctx.clock.now(), changes: summary };
  } catch (error) {
    if (ctx.signal.aborted) {
      progress.fail(`Interrupted while preparing ${request.stackName}`);
      await discardChangeSet(ctx, request, name);
      throw new CancelledError(`Cancelled: the change set was deleted and ${request.stackName} was not changed.`);
    }
    progress.fail();
    throw error;
  }
}

/** A change set the user declined or could not confirm: delete it, then stop. */
export async function declineChangeSet(ctx: Context, request: Pick<ChangeSetRequest, "stackName" | "region" | "type">, name: string, error?: unknown): Promise<never> {
  await discardChangeSet(ctx, request, name);
  if (error instanceof LampError && !(error instanceof CancelledError)) throw error;
  throw new CancelledError(`Cancelled: the change set was deleted and ${request.stackName} was not changed.`);
}
