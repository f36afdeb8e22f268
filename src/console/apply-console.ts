import type { LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { webFunction, type Template, type TemplateValue } from "../project/sam-template.js";
import { consoleHandler, consolePayload } from "../project/command-line.js";
import { parseSchedule } from "../project/schedule.js";

/**
 * The console function, added to every deployed template at package time (so projects made by an
 * older `lamp init` get it too): a copy of the web function as it will be deployed — code, layers,
 * environment, VPC config, memory, policies — running Bref's console runtime with lamp's handler,
 * without HTTP events, with its own log group; plus lamp.json's schedules as EventBridge Scheduler
 * schedules that invoke it, and the queue where failed runs land. Pure.
 */

/** Lambda's maximum, and the default of lamp.json's console.timeout. */
const defaultConsoleTimeout = 900;

export const ConsoleResource = {
  function: "ConsoleFunction",
  logGroup: "ConsoleLogGroup",
  deadLetterQueue: "ScheduleDeadLetterQueue",
} as const;

export const ConsoleOutput = {
  functionName: "ConsoleFunctionName",
  logGroup: "ConsoleLogGroupName",
  deadLetterQueue: "ScheduleDeadLetterQueueUrl",
} as const;

/** What only the web function has: its HTTP events and everything tied to serving requests. */
const webOnlyProperties = new Set([
  "Events", "Handler", "Timeout", "Description", "FunctionName", "Environment", "AutoPublishAlias", "ProvisionedConcurrencyConfig",
  "FunctionUrlConfig", "DeploymentPreference", "LoggingConfig", "EventInvokeConfig", "ReservedConcurrentExecutions", "SnapStart",
]);

/** How often EventBridge Scheduler retries a run it could not deliver, and for how long (a minutely job is stale after 10). */
const scheduleRetryPolicy = { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 } as const;
/** How long a failed run waits in the queue to be looked at: SQS's maximum. */
const deadLetterRetentionSeconds = 1_209_600;

export function consoleTimeout(config: Pick<LampConfig, "console">): number {
  return config.console?.timeout ?? defaultConsoleTimeout;
}

function scheduleEvents(config: Pick<LampConfig, "schedule">): Record<string, TemplateValue> {
  const events: Record<string, TemplateValue> = {};
  for (const [index, entry] of (config.schedule ?? []).entries()) {
    const schedule = parseSchedule(entry);
    events[`Schedule${index + 1}`] = {
      Type: "ScheduleV2",
      Properties: {
        // Schedule names are unique per account and region (SAM's default, the logical id, is not):
        // named after the stack's id, which is, in at most 64 characters.
        Name: { "Fn::Join": ["-", ["lamp", { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] }, String(index + 1)]] },
        ScheduleExpression: schedule.expression,
        ...(entry.timezone ? { ScheduleExpressionTimezone: entry.timezone } : {}),
        Description: entry.run.slice(0, 512),
        Input: consolePayload(schedule.args),
        RetryPolicy: { ...scheduleRetryPolicy },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [ConsoleResource.deadLetterQueue, "Arn"] } },
      },
    };
  }
  return events;
}

export function applyConsole(input: Template, config: Pick<LampConfig, "console" | "schedule">, source = "template.yaml"): Template {
  const template = structuredClone(input);
  const resources = (template.Resources ??= {});
  const web = webFunction(template, source);
  const hasSchedules = (config.schedule ?? []).length > 0;
  const ids = [ConsoleResource.function, ConsoleResource.logGroup, ...(hasSchedules ? [ConsoleResource.deadLetterQueue] : [])];
  for (const id of ids) {
    if (resources[id] !== undefined) {
      throw new LampError("config", `${source} declares ${id}, a logical id lamp adds for the console function.`, `Rename ${id} in ${source}.`);
    }
  }
  const webProperties = web.resource.Properties ?? {};
  const copied = Object.fromEntries(Object.entries(structuredClone(webProperties)).filter(([name]) => !webOnlyProperties.has(name)));
  const environment = (webProperties.Environment ?? {}) as Record<string, TemplateValue>;
  const variables = { ...((environment.Variables ?? {}) as Record<string, TemplateValue>), BREF_RUNTIME: "console" };
  const events = scheduleEvents(config);
  resources[ConsoleResource.function] = {
    Type: web.resource.Type,
    Properties: {
      ...copied,
      Description: { "Fn::Sub": "${AWS::StackName} console (lamp run, release, schedule)" },
      Handler: consoleHandler,
      Timeout: consoleTimeout(config),
      Environment: { ...structuredClone(environment), Variables: structuredClone(variables) },
      ...(hasSchedules
        ? {
            Events: events,
            // A scheduled run is an asynchronous invocation: a failing command is not run again (a job
            // such as `schedule:run` must not run twice), and lands in the queue where it can be seen.
            EventInvokeConfig: {
              MaximumRetryAttempts: 0,
              DestinationConfig: { OnFailure: { Type: "SQS", Destination: { "Fn::GetAtt": [ConsoleResource.deadLetterQueue, "Arn"] } } },
            },
          }
        : {}),
    },
  };
  const webLogGroup = Object.values(resources).find((resource) => resource.Type === "AWS::Logs::LogGroup" && JSON.stringify(resource.Properties?.LogGroupName ?? "").includes(web.id));
  resources[ConsoleResource.logGroup] = {
    Type: "AWS::Logs::LogGroup",
    Properties: { LogGroupName: { "Fn::Sub": `/aws/lambda/\${${ConsoleResource.function}}` }, RetentionInDays: webLogGroup?.Properties?.RetentionInDays ?? 30 },
  };
  const outputs = (template.Outputs ??= {}) as Record<string, TemplateValue>;
  outputs[ConsoleOutput.functionName] = { Description: "The console function (lamp run --remote, release, schedule)", Value: { Ref: ConsoleResource.function } };
  outputs[ConsoleOutput.logGroup] = { Description: "The console function's logs", Value: { Ref: ConsoleResource.logGroup } };
  if (hasSchedules) {
    resources[ConsoleResource.deadLetterQueue] = { Type: "AWS::SQS::Queue", Properties: { MessageRetentionPeriod: deadLetterRetentionSeconds, SqsManagedSseEnabled: true } };
    outputs[ConsoleOutput.deadLetterQueue] = { Description: "Scheduled runs that failed or could not be delivered", Value: { Ref: ConsoleResource.deadLetterQueue } };
  }
  return template;
}
