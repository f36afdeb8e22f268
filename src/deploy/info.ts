import { loadProject } from "../project/config.js";
import type { Context } from "../core/context.js";
import { StackOutput, describeStack, outputsOf, type StackOutputs } from "../project/stack-outputs.js";
import { describeCertificate } from "../domain/certificate.js";
import { formatScheduleListing, listSchedules, type ScheduleListing } from "../project/schedule.js";
import { ConsoleOutput } from "../console/apply-console.js";
import { formatMailStatus, mailIdentityStatus } from "../mail/identity.js";
import { databaseStatus, deployedDatabase, formatDatabaseStatus, type DatabaseStatus } from "../database/remote.js";

export type StackInfo =
  | { exists: false; stackName: string; region: string }
  | {
      exists: true;
      stackName: string;
      region: string;
      stackId: string;
      status: string;
      statusReason?: string;
      /** ISO time of the last update (or of the creation, for a stack never updated). */
      lastUpdated?: string;
      outputs: StackOutputs;
      /** The custom domain's certificate, as ACM (us-east-1) sees it now. */
      certificate?: { arn: string; status: string; notAfter?: string };
      /** The stack's database (lamp.json `database`): endpoint, paused/available, capacity. */
      database?: DatabaseStatus;
      /** The console function (lamp run --remote, release, schedule), from the stack's outputs. */
      console?: { functionName: string; logGroup?: string };
      /** lamp.json's mail.from and its SES domain identity's verification status now. */
      mail?: { from: string; domain: string; status: string };
      /** lamp.json's schedules and their next runs. */
      schedules?: ScheduleListing[];
    };

/** The deployed stack of the project in `root`: status, when it last changed, its outputs. */
export async function stackInfo(root: string, ctx: Context): Promise<StackInfo> {
  const { config } = (await loadProject(root, ctx.stage));
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = await describeStack(ctx, config.stackName, region);
  if (!stack) return { exists: false, stackName: config.stackName, region };
  const outputs = outputsOf(stack);
  let certificate: { arn: string; status: string; notAfter?: string } | undefined;
  if (outputs.certificateArn) {
    try {
      const described = await describeCertificate(ctx, outputs.certificateArn);
      certificate = { arn: described.arn, status: described.status, notAfter: described.notAfter?.toISOString() };
    } catch (error) {
      // The stack's status matters more than the certificate's: say what ACM answered, and go on.
      if (ctx.signal.aborted) throw error;
      const name = (error as { name?: string }).name;
      certificate = { arn: outputs.certificateArn, status: name === "ResourceNotFoundException" ? "not in ACM any more" : `unknown (${name ?? "error"})` };
    }
  }
  const database = deployedDatabase(stack);
  const output = (key: string) => stack.Outputs?.find((candidate) => candidate.OutputKey === key)?.OutputValue;
  const consoleFunction = output(ConsoleOutput.functionName);
  const schedules = listSchedules(config.schedule ?? [], ctx.clock.now());
  const mail = await mailIdentityStatus(ctx, config, region);
  return {
    exists: true,
    stackName: config.stackName,
    region,
    stackId: stack.StackId ?? config.stackName,
    status: stack.StackStatus ?? "UNKNOWN",
    statusReason: stack.StackStatusReason,
    lastUpdated: (stack.LastUpdatedTime ?? stack.CreationTime)?.toISOString(),
    outputs,
    ...(certificate ? { certificate } : {}),
    ...(database ? { database: await databaseStatus(ctx, database, region) } : {}),
    ...(consoleFunction ? { console: { functionName: consoleFunction, logGroup: output(ConsoleOutput.logGroup) } } : {}),
    ...(schedules.length > 0 ? { schedules } : {}),
    ...(mail ? { mail } : {}),
  };
}

/** Human labels for the outputs, in the order a person wants them. */
const outputLabels: Record<keyof typeof StackOutput, string> = {
  siteUrl: "URL",
  distributionId: "Distribution",
  assetsBucket: "Assets bucket",
  functionName: "Function",
  logGroup: "Log group",
  httpApiUrl: "HTTP API",
  domainNames: "Domain",
  certificateArn: "Certificate",
  distributionDomainName: "CloudFront",
};

export function formatStackInfo(info: StackInfo, now: number): string[] {
  if (!info.exists) return [];
  const lines = [`Stack      ${info.stackName} (${info.region})`, `Status     ${info.status}${info.statusReason ? ` — ${info.statusReason}` : ""}`];
  if (info.lastUpdated) lines.push(`Updated    ${info.lastUpdated} (${ago(now - Date.parse(info.lastUpdated))})`);
  for (const [field, label] of Object.entries(outputLabels) as [keyof typeof StackOutput, string][]) {
    let value = info.outputs[field];
    if (field === "domainNames" && value) value = value.split(",").join(", ");
    if (field === "certificateArn" && value && info.certificate) {
      value += ` (${info.certificate.status}${info.certificate.notAfter ? `, valid until ${info.certificate.notAfter.slice(0, 10)}` : ""})`;
    }
    if (value) lines.push(`${label.padEnd(10)} ${value}`);
  }
  if (info.database) lines.push(...formatDatabaseStatus(info.database));
  if (info.console) lines.push(`${"Console".padEnd(10)} ${info.console.functionName} (lamp run --remote)`);
  if (info.mail) lines.push(formatMailStatus(info.mail));
  for (const schedule of info.schedules ?? []) lines.push(`${"Schedule".padEnd(10)} ${formatScheduleListing(schedule)}`);
  return lines;
}

function ago(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}
