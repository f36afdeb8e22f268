import { configFileName, findProject } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { readStackOutputs } from "../project/stack-outputs.js";

export interface LogTarget {
  logGroupName: string;
  region: string;
}

/** `--log-group` also takes the group's ARN, which names its region too. */
function parseLogGroupArn(value: string): { name: string; region: string } | undefined {
  const match = /^arn:[^:]+:logs:([^:]+):[^:]*:log-group:(.+?)(?::\*)?$/.exec(value);
  return match ? { region: match[1]!, name: match[2]! } : undefined;
}

/**
 * Which log group to read and in which region: `--log-group` when given, otherwise the
 * stack's LogGroupName output (stack and region from lamp.json; --region wins).
 */
export async function resolveLogTarget(logGroup: string | undefined, ctx: Context): Promise<LogTarget> {
  if (logGroup !== undefined) {
    const fromArn = parseLogGroupArn(logGroup);
    if (fromArn) return { logGroupName: fromArn.name, region: fromArn.region };
    if (logGroup.trim() === "") throw new LampError("usage", "--log-group is empty.", "Pass a log group name such as /aws/lambda/my-function.");
    const project = await findProject(ctx.cwd, ctx.stage);
    const region = ctx.aws.region(project?.config.region);
    if (!region) {
      throw new LampError("region", `No AWS region for log group ${logGroup}.`, "Pass --region, set AWS_REGION or a region in your AWS profile, or run inside a project with lamp.json.");
    }
    return { logGroupName: logGroup, region };
  }

  const project = await findProject(ctx.cwd, ctx.stage);
  if (!project) {
    throw new LampError(
      "config",
      `No ${configFileName} in ${ctx.cwd}: which function's logs?`,
      "Run this inside a project made by `lamp init`, or pass --log-group <name> (and --region).",
    );
  }
  const { stackName } = project.config;
  const region = ctx.aws.region(project.config.region) ?? project.config.region;
  const outputs = await readStackOutputs(ctx, stackName, region);
  const logGroupName = outputs.logGroup ?? (outputs.functionName ? `/aws/lambda/${outputs.functionName}` : undefined);
  if (!logGroupName) {
    throw new LampError(
      "stack-state",
      `Stack "${stackName}" in ${region} has no LogGroupName or FunctionName output.`,
      "Deploy it again with `lamp deploy`, or pass --log-group <name>.",
    );
  }
  return { logGroupName, region };
}
