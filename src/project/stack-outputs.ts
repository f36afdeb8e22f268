import { CloudFormationClient, DescribeStacksCommand, type Stack } from "@aws-sdk/client-cloudformation";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";

/** The outputs `template.yaml` declares; every command that needs the stack reads them here. */
export const StackOutput = {
  siteUrl: "SiteUrl",
  distributionId: "DistributionId",
  assetsBucket: "AssetsBucketName",
  functionName: "FunctionName",
  logGroup: "LogGroupName",
  httpApiUrl: "HttpApiUrl",
  /** The next three exist with a custom domain only (src/domain adds them). */
  domainNames: "DomainNames",
  certificateArn: "CertificateArn",
  distributionDomainName: "DistributionDomainName",
} as const;
export type StackOutputs = Partial<Record<keyof typeof StackOutput, string>>;

export function outputsOf(stack: Stack): StackOutputs {
  const byKey = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const outputs: StackOutputs = {};
  for (const [field, key] of Object.entries(StackOutput) as [keyof typeof StackOutput, string][]) {
    const value = byKey.get(key);
    if (value) outputs[field] = value;
  }
  return outputs;
}

function isMissingStack(error: unknown): boolean {
  const { name, message } = error as { name?: string; message?: string };
  return name === "ValidationError" && /does not exist/.test(message ?? "");
}

/** The stack, or undefined when it does not exist (CloudFormation answers that with an error). */
export async function describeStack(ctx: Context, stackName: string, region: string): Promise<Stack | undefined> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  try {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }), { abortSignal: ctx.signal });
    return Stacks?.[0];
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

/** The stack's outputs; a clear error when the stack has not been deployed yet. */
export async function readStackOutputs(ctx: Context, stackName: string, region: string): Promise<StackOutputs> {
  const stack = await describeStack(ctx, stackName, region);
  if (!stack) {
    throw new LampError("not-found", `Stack "${stackName}" does not exist in ${region} yet.`, `Run \`lamp deploy${ctx.stage ? ` --stage ${ctx.stage}` : ""}\` first.`);
  }
  return outputsOf(stack);
}
