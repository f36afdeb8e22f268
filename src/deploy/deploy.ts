import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CloudFormationClient, DeleteStackCommand, ExecuteChangeSetCommand, type Stack } from "@aws-sdk/client-cloudformation";
import type { ProjectSyncResult } from "../assets/project-sync.js";
import type { Context } from "../core/context.js";
import { LampError, reportingCancellation } from "../core/errors.js";
import { describeStack, outputsOf, type StackOutputs } from "../project/stack-outputs.js";
import { ensureArtifactsBucket, inlineTemplateLimit, templateUrl, uploadIfMissing } from "./artifacts.js";
import { countChanges, createChangeSet, declineChangeSet, formatChange, type ChangeSetRequest, type ResourceChange } from "./change-set.js";
import { formatSeconds } from "../core/clock.js";
import { prepareDomain, settleDomain, type DomainReport, type PreparedDomain } from "../domain/domain.js";
import { certificateParameter } from "../domain/apply-domain.js";
import { settleMailIdentity, type MailIdentityReport } from "../mail/identity.js";
import { followStack, isDeleteStatus } from "./events.js";
import { formatBytes, type CodePackage } from "./package.js";
import { zipProject } from "./package-project.js";
import { preflight } from "./preflight.js";
import { originTokenParameters } from "./origin-token.js";
import { runRelease, type ReleaseReport } from "../console/release.js";
import { keptDatabaseData } from "../database/apply-database.js";
import { loadExtraLayerTable } from "../project/php-extensions.js";
import type { Template } from "../project/sam-template.js";
import { capabilitiesFor, deployableTemplate, fingerprintOf, fingerprintOutput, parameterValues, serializeTemplate, withFingerprint } from "./deployable-template.js";
import { secretsForDeploy } from "../secrets/secret.js";
import { applySecrets } from "../secrets/apply-secrets.js";
import { warnSecretLookingEnvironment } from "../secrets/warn.js";

export interface DeployOptions {
  /** The project folder (where lamp.json is). */
  root: string;
  /** Sync the assets folder after the stack deploy (--no-assets turns it off). */
  assets: boolean;
  /** Deploy even when the fingerprint says nothing changed. */
  force: boolean;
  /** Run lamp.json's release commands after a deploy that changed something (--no-release turns it off). */
  release?: boolean;
}

interface DeployCommon {
  stackName: string;
  region: string;
  account: string;
  package: { sha256: string; bytes: number; files: number; key: string };
  durationMs: number;
  /** lamp.json's domain: the certificate and the DNS records; absent without a domain. */
  domain?: DomainReport;
  /** lamp.json's mail.from: the SES domain identity, its DKIM records and whether SES verified it. */
  mail?: MailIdentityReport;
}

/** What a deploy did. "No changes" is a success, and so is its own case, not an error. */
export type DeployResult =
  | (DeployCommon & { status: "no-changes"; detectedBy: "fingerprint" | "change-set"; outputs: StackOutputs; assets: ProjectSyncResult | null })
  | (DeployCommon & { status: "deployed"; operation: "create" | "update"; changes: ResourceChange[]; outputs: StackOutputs; assets: ProjectSyncResult | null; release?: ReleaseReport })
  | (DeployCommon & { status: "failed"; stage: "change-set" | "execute"; stackStatus?: string; reasons: string[] });

/** States from which an unchanged fingerprint means the stack really runs what was fingerprinted. */
const settledStatuses = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"]);

function outputValue(stack: Stack | undefined, key: string): string | undefined {
  return stack?.Outputs?.find((output) => output.OutputKey === key)?.OutputValue;
}

/**
 * Makes the stack deployable, or says why it is not. A first deploy that rolled back
 * (ROLLBACK_COMPLETE) cannot be updated: it is deleted so this deploy can create it afresh.
 * Returns the change set type to use.
 */
async function prepareStack(ctx: Context, stack: Stack | undefined, stackName: string, region: string): Promise<"CREATE" | "UPDATE"> {
  const status = stack?.StackStatus;
  if (!stack || status === "REVIEW_IN_PROGRESS" || status === "DELETE_COMPLETE") return "CREATE";
  if (status === "ROLLBACK_COMPLETE") {
    ctx.ui.warn(`${stackName} is in ROLLBACK_COMPLETE: its first deploy failed, and CloudFormation cannot update such a stack. Deleting it so this deploy can create it again.`);
    const cloudformation = ctx.aws.client(CloudFormationClient, { region });
    const since = ctx.clock.now();
    await cloudformation.send(new DeleteStackCommand({ StackName: stack.StackId ?? stackName }), { abortSignal: ctx.signal });
    const outcome = await followStack(ctx, { stackName, stackId: stack.StackId ?? stackName, region, since: since - 60_000, verb: "Deleting", isFinal: isDeleteStatus });
    if (outcome.status !== "DELETE_COMPLETE") {
      throw new LampError("stack-state", `Could not delete the rolled-back stack ${stackName}: ${outcome.reasons.join("; ") || outcome.status}.`, "Delete it in the CloudFormation console, then deploy again.");
    }
    return "CREATE";
  }
  if (status?.endsWith("_IN_PROGRESS")) {
    throw new LampError("stack-state", `${stackName} is busy (${status}).`, "Wait until it finishes (`lamp info` shows its status), then deploy again.");
  }
  if (status === "UPDATE_ROLLBACK_FAILED") {
    throw new LampError(
      "stack-state",
      `${stackName} is in UPDATE_ROLLBACK_FAILED: a rollback could not finish.`,
      `Fix the cause, then run \`aws cloudformation continue-update-rollback --stack-name ${stackName} --region ${region}\`.`,
    );
  }
  if (status === "ROLLBACK_FAILED" || status === "DELETE_FAILED") {
    throw new LampError("stack-state", `${stackName} is in ${status} and cannot be updated.`, "Remove it with `lamp destroy` (or the CloudFormation console), then deploy again.");
  }
  return "UPDATE";
}

/** The fast path's question: is this exactly what the stack already runs? */
function isUnchanged(stack: Stack | undefined, fingerprint: string): boolean {
  return Boolean(stack && settledStatuses.has(stack.StackStatus ?? "") && outputValue(stack, fingerprintOutput) === fingerprint);
}

async function syncProjectAssets(ctx: Context, root: string, outputs: StackOutputs, region: string, config: Awaited<ReturnType<typeof preflight>>["project"]["config"]): Promise<ProjectSyncResult | null> {
  if (!outputs.assetsBucket) {
    ctx.ui.warn("The stack has no AssetsBucketName output: assets not synced.");
    return null;
  }
  const { syncProjectStaticFiles } = await import("../assets/project-sync.js");
  const target = { bucket: outputs.assetsBucket, region, distributionId: outputs.distributionId };
  return syncProjectStaticFiles({ project: { root, config }, target, missingAssetsFolder: "skip" }, ctx);
}

/** After a successful stack deploy: DNS follows lamp.json's domain (src/domain). */
async function finishDomain(ctx: Context, domain: PreparedDomain | undefined, outputs: StackOutputs, before: StackOutputs): Promise<{ domain?: DomainReport }> {
  const report = await settleDomain(ctx, domain, outputs, before);
  return report ? { domain: report } : {};
}

export async function deploy(options: DeployOptions, ctx: Context): Promise<DeployResult> {
  return reportingCancellation(ctx.signal, () => deployProject(options, ctx));
}

/** What every phase of one deploy needs to know: the checked project, where it goes, its template builder. */
interface DeployPlan {
  options: DeployOptions;
  checked: Awaited<ReturnType<typeof preflight>>;
  config: Awaited<ReturnType<typeof preflight>>["project"]["config"];
  stackName: string;
  region: string;
  started: number;
  /** What CloudFormation receives for the code at `code`: the one builder `lamp package` uses too. */
  compose(code: { bucket: string; key: string }): Template;
  domain: PreparedDomain | undefined;
}

/** check → package → (unchanged? settle) → change set → confirm → execute → settle (assets, DNS, release). */
async function deployProject(options: DeployOptions, ctx: Context): Promise<DeployResult> {
  const plan = await planDeploy(options, ctx);
  const workDir = await mkdtemp(path.join(tmpdir(), "lamp-deploy-"));
  try {
    const code = await zipProject(ctx, options.root, plan.config, path.join(workDir, "code.zip"));
    const key = `code/${code.sha256}.zip`;
    const common = (): DeployCommon => ({
      stackName: plan.stackName,
      region: plan.region,
      account: plan.checked.account,
      package: { sha256: code.sha256, bytes: code.size, files: code.files, key },
      durationMs: ctx.clock.now() - plan.started,
    });
    // The values of lamp's deploy-time parameters, one line each (the origin token's are below: they
    // change on every deploy, so they stay out of the fingerprint).
    const deployValues: Record<string, string | undefined> = { [certificateParameter.name]: plan.domain?.certificateArn };
    const lampParameters = parameterValues(plan.compose({ bucket: "", key }), deployValues);
    const fingerprint = fingerprintOf(plan.compose({ bucket: "", key }), Object.fromEntries(lampParameters.map((parameter) => [parameter.ParameterKey, parameter.ParameterValue])));
    const stack = await describeStack(ctx, plan.stackName, plan.region);
    const before = stack ? outputsOf(stack) : {};
    if (!options.force && isUnchanged(stack, fingerprint)) {
      ctx.ui.success(`No changes: ${plan.stackName} already runs this code and template (CloudFormation not called; --force deploys anyway).`);
      const settled = await settle(plan, ctx, before, before);
      return { ...common(), ...settled, status: "no-changes", detectedBy: "fingerprint", outputs: before };
    }
    const submitted = await submitChangeSet(plan, ctx, { stack, code, key, fingerprint, lampParameters });
    if (submitted.changeSet.kind === "empty") {
      const current = await describeStack(ctx, plan.stackName, plan.region);
      const outputs = current ? outputsOf(current) : {};
      const settled = await settle(plan, ctx, outputs, before);
      return { ...common(), ...settled, status: "no-changes", detectedBy: "change-set", outputs };
    }
    if (submitted.changeSet.kind === "rejected") return { ...common(), status: "failed", stage: "change-set", reasons: [submitted.changeSet.reason] };
    const changeSet = submitted.changeSet;
    await confirmDestructiveChanges(plan, ctx, submitted.request, changeSet);
    const outcome = await executeChangeSet(plan, ctx, submitted.request, changeSet);
    if (outcome.status !== "CREATE_COMPLETE" && outcome.status !== "UPDATE_COMPLETE") {
      return { ...common(), status: "failed", stage: "execute", stackStatus: outcome.status, reasons: outcome.reasons };
    }
    const deployed = await describeStack(ctx, plan.stackName, plan.region);
    const outputs = deployed ? outputsOf(deployed) : {};
    const type = submitted.request.type;
    ctx.ui.success(`${type === "CREATE" ? "Created" : "Updated"} ${plan.stackName} in ${formatSeconds(ctx.clock.now() - plan.started)} (${countChanges(changeSet.changes)})`);
    const settled = await settle(plan, ctx, outputs, before);
    // After a deploy that changed something (migrations want the new code), in the console function.
    const release = options.release === false ? undefined : await runRelease(plan.checked.project, ctx);
    return { ...common(), ...settled, status: "deployed", operation: type === "CREATE" ? "create" : "update", changes: changeSet.changes, outputs, ...(release ? { release } : {}) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The checks, the stage's secrets, the template builder and the domain's certificate: all before any zipping. */
async function planDeploy(options: DeployOptions, ctx: Context): Promise<DeployPlan> {
  const started = ctx.clock.now();
  const checked = await preflight(options.root, ctx);
  const { config } = checked.project;
  const { region, account } = checked;
  const stackName = config.stackName;
  warnSecretLookingEnvironment(ctx, config.environment);
  // The stage's secrets, by name: bref-ssm variables and a policy on their path (src/secrets).
  const secrets = await secretsForDeploy(checked.project, region, ctx);
  const template = applySecrets(checked.template, { stackName, secrets });
  ctx.ui.debug(`Deploying ${stackName} to account ${account}, ${region}${checked.brefVersion ? `, bref/bref ${checked.brefVersion}` : ""}`);
  const extraLayers = await loadExtraLayerTable();
  // The resolved region, which may differ from lamp.json's, picks the extra extensions' layers.
  const compose = (code: { bucket: string; key: string }) => deployableTemplate(template, { ...config, region }, code, extraLayers);
  // Template problems (handler mismatch, BREF_RUNTIME, a domain the template cannot carry) surface
  // before minutes of zipping or of waiting for a certificate.
  compose({ bucket: "", key: "" });
  const domain = await prepareDomain(ctx, config);
  return { options, checked, config, stackName, region, started, compose, domain };
}

/**
 * After the stack is as it should be: the static files synced, DNS following lamp.json's domain,
 * SES able to send as lamp.json's mail.from (src/mail).
 */
async function settle(plan: DeployPlan, ctx: Context, outputs: StackOutputs, before: StackOutputs): Promise<{ assets: ProjectSyncResult | null; domain?: DomainReport; mail?: MailIdentityReport }> {
  const assets = plan.options.assets ? await syncProjectAssets(ctx, plan.options.root, outputs, plan.region, plan.config) : null;
  const domain = await finishDomain(ctx, plan.domain, outputs, before);
  const mail = await settleMailIdentity(ctx, plan.config, plan.region, plan.domain?.zones);
  return { assets, ...domain, ...(mail ? { mail } : {}) };
}

interface Submission {
  stack: Stack | undefined;
  code: CodePackage;
  key: string;
  fingerprint: string;
  lampParameters: ReturnType<typeof parameterValues>;
}

/** Uploads the code (and a template too large to send inline), then asks CloudFormation for a change set. */
async function submitChangeSet(plan: DeployPlan, ctx: Context, submission: Submission): Promise<{ request: ChangeSetRequest; changeSet: Awaited<ReturnType<typeof createChangeSet>> }> {
  const { stackName, region } = plan;
  const type = await prepareStack(ctx, submission.stack, stackName, region);
  const bucket = await ensureArtifactsBucket(ctx, region);
  const upload = ctx.ui.progress(`Uploading the code package (${formatBytes(submission.code.size)})`);
  const uploaded = await uploadIfMissing(ctx, { bucket: bucket.name, key: submission.key, region, file: submission.code.zipPath, contentType: "application/zip" });
  upload.done(uploaded === "exists" ? "Code package already uploaded" : `Uploaded the code package to s3://${bucket.name}/${submission.key}`);

  const packaged = withFingerprint(plan.compose({ bucket: bucket.name, key: submission.key }), submission.fingerprint);
  const body = serializeTemplate(packaged);
  // A new origin token for the function and the distribution (never part of the fingerprint: a
  // deploy that changes nothing keeps the current one).
  const parameters = [...submission.lampParameters, ...originTokenParameters(packaged, submission.stack, type)];
  const request: ChangeSetRequest = { stackName, region, type, capabilities: capabilitiesFor(packaged), parameters };
  if (Buffer.byteLength(body) > inlineTemplateLimit) {
    const templateKey = `templates/${createHash("sha256").update(body).digest("hex")}.json`;
    await uploadIfMissing(ctx, { bucket: bucket.name, key: templateKey, region, body, contentType: "application/json" });
    request.templateUrl = templateUrl(ctx, bucket.name, templateKey, region);
  } else {
    request.templateBody = body;
  }
  return { request, changeSet: await createChangeSet(ctx, request) };
}

type ReadyChangeSet = Extract<Awaited<ReturnType<typeof createChangeSet>>, { kind: "ready" }>;

/** Lists the changes; one that deletes data needs a yes (a prompt, or --yes), else the change set is deleted. */
async function confirmDestructiveChanges(plan: DeployPlan, ctx: Context, request: ChangeSetRequest, changeSet: ReadyChangeSet): Promise<void> {
  for (const change of changeSet.changes) ctx.ui.info(formatChange(change));
  const destructive = changeSet.changes.filter((change) => change.destructive);
  if (destructive.length === 0) return;
  const what = destructive.map((change) => `${change.logicalId} (${change.type}) ${change.action === "remove" ? "removed" : "replaced"}`).join(", ");
  ctx.ui.warn(`This deploy deletes data: ${what}.`);
  const kept = keptDatabaseData(destructive.map((change) => change.logicalId), plan.config.database?.finalSnapshot !== false);
  if (kept) ctx.ui.info(kept);
  if (ctx.yes) return;
  if (!ctx.ui.interactive) {
    await declineChangeSet(
      ctx,
      request,
      changeSet.name,
      new LampError("usage", `Not deploying ${plan.stackName}: it would delete data (${what}), and there is no terminal to confirm.`, "Check the changes above; pass --yes to deploy anyway."),
    );
  }
  let confirmed = false;
  try {
    confirmed = await ctx.prompt.confirm({ message: `Deploy anyway? ${what}: the contents are lost.`, flag: "--yes", initialValue: false });
  } catch (error) {
    await declineChangeSet(ctx, request, changeSet.name, error);
  }
  if (!confirmed) await declineChangeSet(ctx, request, changeSet.name);
}

/** Executes the change set and follows the stack; Ctrl-C stops following, not CloudFormation (said so). */
async function executeChangeSet(plan: DeployPlan, ctx: Context, request: ChangeSetRequest, changeSet: ReadyChangeSet): Promise<Awaited<ReturnType<typeof followStack>>> {
  const { stackName, region } = plan;
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  await cloudformation.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSet.name }), { abortSignal: ctx.signal });
  try {
    return await followStack(ctx, { stackName, stackId: changeSet.id.includes(":stack/") ? changeSet.id : stackName, region, since: changeSet.createdAt });
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
    const cancel =
      request.type === "CREATE"
        ? `\`aws cloudformation delete-stack --stack-name ${stackName} --region ${region}\``
        : `\`aws cloudformation cancel-update-stack --stack-name ${stackName} --region ${region}\``;
    throw new LampError("cancelled", `Stopped following ${stackName}, but CloudFormation continues the deploy on its own.`, `Check on it with \`lamp info\`; to stop it, run ${cancel}.`);
  }
}
