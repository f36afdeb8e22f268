import { loadProject } from "../core/config.js";
import type { Context } from "../core/context.js";
import { StackOutput, describeStack, outputsOf, type StackOutputs } from "../core/stack.js";

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
    };

/** The deployed stack of the project in `root`: status, when it last changed, its outputs. */
export async function stackInfo(root: string, ctx: Context): Promise<StackInfo> {
  const { config } = (await loadProject(root));
  const region = ctx.aws.region(config.region) ?? config.region;
  const stack = await describeStack(ctx, config.stackName, region);
  if (!stack) return { exists: false, stackName: config.stackName, region };
  return {
    exists: true,
    stackName: config.stackName,
    region,
    stackId: stack.StackId ?? config.stackName,
    status: stack.StackStatus ?? "UNKNOWN",
    statusReason: stack.StackStatusReason,
    lastUpdated: (stack.LastUpdatedTime ?? stack.CreationTime)?.toISOString(),
    outputs: outputsOf(stack),
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
    const value = info.outputs[field];
    if (value) lines.push(`${label.padEnd(10)} ${value}`);
  }
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
