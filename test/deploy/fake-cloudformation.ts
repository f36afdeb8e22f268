import {
  CloudFormationClient,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type Change,
  type CreateChangeSetCommandInput,
  type Output,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { DescribeParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { Clock } from "../../src/core/clock.js";

/**
 * A small CloudFormation that behaves like the real one where lamp looks: stacks with a status
 * and outputs, change sets that take a few polls to compute, events that appear over several
 * polls while a change set executes. Tests script what the next change set and execution do.
 */

export interface FakeStack {
  name: string;
  id: string;
  status: string;
  statusReason?: string;
  outputs: Output[];
  events: StackEvent[];
  lastUpdated?: Date;
  created: Date;
}

/** What executing the next change set does: resource events in order, then the final status. */
export interface ExecutionScript {
  resources: { id: string; type: string; status: string; reason?: string }[];
  finalStatus?: string;
  /** Stack-level status while rolling back, before the final one. */
  rollbackStatus?: string;
  stackReason?: string;
}

export interface ChangeSetScript {
  /** How many DescribeChangeSet polls answer CREATE_PENDING/CREATE_IN_PROGRESS first. */
  pendingPolls?: number;
  /** Fail with this reason (e.g. one of the "no changes" wordings). */
  failReason?: string;
  changes?: Change[];
}

/** Deploy and destroy list the stack's secrets (src/secrets): these projects have none. */
export const noSecrets = mockClient(SSMClient);
noSecrets.on(DescribeParametersCommand).resolves({ Parameters: [] });

export const fakeDistributionDomainName = "d111111abcdef8.cloudfront.net";

export const siteOutputs = (stackName: string): Output[] => [
  { OutputKey: "SiteUrl", OutputValue: `https://${fakeDistributionDomainName}` },
  { OutputKey: "DistributionId", OutputValue: "E2EXAMPLE" },
  { OutputKey: "AssetsBucketName", OutputValue: `${stackName.toLowerCase()}-assets` },
  { OutputKey: "FunctionName", OutputValue: `${stackName}-WebFunction-abc` },
  { OutputKey: "LogGroupName", OutputValue: `/aws/lambda/${stackName}-WebFunction-abc` },
  { OutputKey: "HttpApiUrl", OutputValue: "https://abc123.execute-api.eu-west-1.amazonaws.com" },
  { OutputKey: "ConsoleFunctionName", OutputValue: `${stackName}-ConsoleFunction-abc` },
  { OutputKey: "ConsoleLogGroupName", OutputValue: `/aws/lambda/${stackName}-ConsoleFunction-abc` },
];

export const defaultChanges: Change[] = [
  { Type: "Resource", ResourceChange: { Action: "Add", LogicalResourceId: "WebFunction", ResourceType: "AWS::Lambda::Function" } },
  { Type: "Resource", ResourceChange: { Action: "Add", LogicalResourceId: "Distribution", ResourceType: "AWS::CloudFront::Distribution" } },
];

export function fakeCloudFormation(clock: Clock, options: { artifactsBucket: string }) {
  const bootstrapOutputs = () => [
    { OutputKey: "ArtifactsBucketName", OutputValue: options.artifactsBucket },
    { OutputKey: "PageCachePolicyId", OutputValue: "11111111-2222-3333-4444-555555555555" },
  ];
  const mock = mockClient(CloudFormationClient);
  const stacks = new Map<string, FakeStack>();
  const changeSets = new Map<string, { input: CreateChangeSetCommandInput; polls: number; script: ChangeSetScript; stack: string; createdAt: Date }>();
  let nextChangeSet: ChangeSetScript = {};
  let nextExecution: ExecutionScript = { resources: [{ id: "WebFunction", type: "AWS::Lambda::Function", status: "COMPLETE" }] };
  /** Events not yet visible: released a few per DescribeStackEvents call, like a real deploy. */
  const pending = new Map<string, StackEvent[]>();
  const created: CreateChangeSetCommandInput[] = [];
  let eventCounter = 0;

  // By name, the newest stack wins (a deleted stack's name can be used again); by id, the exact one.
  const find = (nameOrId: string | undefined) => [...stacks.values()].reverse().find((stack) => stack.name === nameOrId || stack.id === nameOrId);
  const missing = (name: string | undefined) => Object.assign(new Error(`Stack with id ${name} does not exist`), { name: "ValidationError" });
  const event = (stack: FakeStack, logicalId: string, type: string, status: string, reason?: string): StackEvent => ({
    StackId: stack.id,
    StackName: stack.name,
    EventId: `event-${++eventCounter}`,
    LogicalResourceId: logicalId,
    ResourceType: type,
    ResourceStatus: status as never,
    ResourceStatusReason: reason,
    Timestamp: new Date(clock.now()),
  });
  const addStack = (name: string, status: string, outputs: Output[] = []): FakeStack => {
    const stack: FakeStack = { name, id: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/${eventCounter++}`, status, outputs, events: [], created: new Date(clock.now()) };
    stacks.set(stack.id, stack);
    return stack;
  };
  /** Queues events to appear over the next polls; the stack's status follows the stack-level ones. */
  const queue = (stack: FakeStack, events: { logicalId: string; type: string; status: string; reason?: string }[]) => {
    const list = pending.get(stack.id) ?? [];
    for (const item of events) list.push({ ...event(stack, item.logicalId, item.type, item.status, item.reason) });
    pending.set(stack.id, list);
  };

  mock.on(DescribeStacksCommand).callsFake((input) => {
    const stack = find(input.StackName);
    if (!stack || (stack.status === "DELETE_COMPLETE" && !input.StackName?.startsWith("arn:"))) throw missing(input.StackName);
    return {
      Stacks: [
        {
          StackName: stack.name,
          StackId: stack.id,
          StackStatus: stack.status as never,
          StackStatusReason: stack.statusReason,
          Outputs: stack.outputs,
          CreationTime: stack.created,
          LastUpdatedTime: stack.lastUpdated,
        },
      ],
    };
  });

  mock.on(DescribeStackEventsCommand).callsFake((input) => {
    const stack = find(input.StackName);
    if (!stack) throw missing(input.StackName);
    // Two events become visible per poll (a first page), stamped with the time they "happen".
    if (!input.NextToken) {
      const waiting = pending.get(stack.id) ?? [];
      for (const item of waiting.splice(0, 2)) {
        const visible = { ...item, Timestamp: new Date(clock.now()) };
        stack.events.unshift(visible);
        if (visible.ResourceType === "AWS::CloudFormation::Stack") stack.status = visible.ResourceStatus!;
      }
    }
    // One event per page (AWS gives 100), so that every deploy test goes through the pagination.
    return page(stack.events, input.NextToken, 1, (StackEvents, NextToken) => ({ StackEvents, NextToken }));
  });

  mock.on(CreateChangeSetCommand).callsFake((input) => {
    created.push(input);
    let stack = find(input.StackName);
    if (input.ChangeSetType === "CREATE") {
      if (stack && stack.status !== "REVIEW_IN_PROGRESS" && stack.status !== "DELETE_COMPLETE") {
        throw Object.assign(new Error(`Stack [${input.StackName}] already exists and cannot be created again with the changeSet`), { name: "AlreadyExistsException" });
      }
      if (!stack || stack.status === "DELETE_COMPLETE") stack = addStack(input.StackName!, "REVIEW_IN_PROGRESS");
    } else if (!stack) {
      throw missing(input.StackName);
    }
    const id = `arn:aws:cloudformation:eu-west-1:123456789012:changeSet/${input.ChangeSetName}/1`;
    changeSets.set(input.ChangeSetName!, { input, polls: 0, script: nextChangeSet, stack: stack.id, createdAt: new Date(clock.now()) });
    nextChangeSet = {};
    return { Id: id, StackId: stack.id };
  });

  mock.on(DescribeChangeSetCommand).callsFake((input) => {
    const changeSet = changeSets.get(input.ChangeSetName!);
    if (!changeSet) throw Object.assign(new Error("ChangeSet does not exist"), { name: "ChangeSetNotFoundException" });
    changeSet.polls += 1;
    const { script } = changeSet;
    const base = { ChangeSetName: input.ChangeSetName, StackName: changeSet.input.StackName, CreationTime: changeSet.createdAt };
    if (changeSet.polls <= (script.pendingPolls ?? 1)) return { ...base, Status: "CREATE_IN_PROGRESS" };
    if (script.failReason) return { ...base, Status: "FAILED", StatusReason: script.failReason };
    return page(script.changes ?? defaultChanges, input.NextToken, 1, (Changes, NextToken) => ({ ...base, Status: "CREATE_COMPLETE", ExecutionStatus: "AVAILABLE", Changes, NextToken }));
  });

  mock.on(DeleteChangeSetCommand).callsFake((input) => {
    changeSets.delete(input.ChangeSetName!);
    return {};
  });

  mock.on(ExecuteChangeSetCommand).callsFake((input) => {
    const changeSet = changeSets.get(input.ChangeSetName!);
    if (!changeSet) throw Object.assign(new Error("ChangeSet does not exist"), { name: "ChangeSetNotFoundException" });
    const stack = find(changeSet.stack)!;
    const creating = changeSet.input.ChangeSetType === "CREATE";
    const verb = creating ? "CREATE" : "UPDATE";
    const script = nextExecution;
    nextExecution = { resources: [{ id: "WebFunction", type: "AWS::Lambda::Function", status: "COMPLETE" }] };
    const failed = script.resources.some((resource) => resource.status === "FAILED");
    const events: { logicalId: string; type: string; status: string; reason?: string }[] = [
      { logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: `${verb}_IN_PROGRESS`, reason: "User Initiated" },
    ];
    for (const resource of script.resources) {
      events.push({ logicalId: resource.id, type: resource.type, status: `${verb}_IN_PROGRESS` });
      events.push({ logicalId: resource.id, type: resource.type, status: `${verb}_${resource.status}`, reason: resource.reason });
    }
    if (failed) {
      events.push({ logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: script.rollbackStatus ?? (creating ? "ROLLBACK_IN_PROGRESS" : "UPDATE_ROLLBACK_IN_PROGRESS"), reason: script.stackReason });
      events.push({ logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: script.finalStatus ?? (creating ? "ROLLBACK_COMPLETE" : "UPDATE_ROLLBACK_COMPLETE") });
    } else {
      events.push({ logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: script.finalStatus ?? `${verb}_COMPLETE` });
      const template = changeSet.input.TemplateBody ? (JSON.parse(changeSet.input.TemplateBody) as { Outputs?: Record<string, { Value: unknown }> }) : {};
      // Outputs the template gives as plain strings (the fingerprint, a custom domain's URL) are
      // what they say; the distribution's DomainName resolves to the fake distribution's.
      const resolved = new Map(siteOutputs(stack.name).map((output) => [output.OutputKey!, output.OutputValue!]));
      // A Ref to a parameter is the value the change set gave it.
      const parameters = new Map((changeSet.input.Parameters ?? []).map((parameter) => [parameter.ParameterKey!, parameter.ParameterValue!]));
      for (const [key, output] of Object.entries(template.Outputs ?? {})) {
        const value = output.Value as string | { "Fn::GetAtt"?: string[]; Ref?: string };
        if (typeof value === "string") resolved.set(key, value);
        else if (value?.["Fn::GetAtt"]?.[1] === "DomainName") resolved.set(key, fakeDistributionDomainName);
        else if (value?.Ref && parameters.has(value.Ref)) resolved.set(key, parameters.get(value.Ref)!);
      }
      stack.outputs = [...resolved].map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
      stack.lastUpdated = new Date(clock.now());
    }
    stack.status = `${verb}_IN_PROGRESS`;
    queue(stack, events);
    changeSets.delete(input.ChangeSetName!);
    return {};
  });

  mock.on(DeleteStackCommand).callsFake((input) => {
    const stack = find(input.StackName);
    if (!stack) return {};
    if (stack.status === "REVIEW_IN_PROGRESS") {
      stack.status = "DELETE_COMPLETE";
      return {};
    }
    stack.status = "DELETE_IN_PROGRESS";
    queue(stack, [
      { logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: "DELETE_IN_PROGRESS", reason: "User Initiated" },
      { logicalId: "WebFunction", type: "AWS::Lambda::Function", status: "DELETE_IN_PROGRESS" },
      { logicalId: "WebFunction", type: "AWS::Lambda::Function", status: "DELETE_COMPLETE" },
      { logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: "DELETE_COMPLETE" },
    ]);
    return {};
  });

  mock.on(CreateStackCommand).callsFake((input) => {
    const stack = addStack(input.StackName!, "CREATE_IN_PROGRESS", bootstrapOutputs());
    queue(stack, [
      { logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: "CREATE_IN_PROGRESS" },
      { logicalId: "ArtifactsBucket", type: "AWS::S3::Bucket", status: "CREATE_IN_PROGRESS" },
      { logicalId: "ArtifactsBucket", type: "AWS::S3::Bucket", status: "CREATE_COMPLETE" },
      { logicalId: stack.name, type: "AWS::CloudFormation::Stack", status: "CREATE_COMPLETE" },
    ]);
    return { StackId: stack.id };
  });

  return {
    mock,
    stacks,
    created,
    find,
    /** A stack as an earlier deploy left it. */
    addStack,
    /** The artifacts bootstrap stack, already made. */
    addBootstrap: () => addStack("lamp-bootstrap", "CREATE_COMPLETE", bootstrapOutputs()),
    nextChangeSet: (script: ChangeSetScript) => {
      nextChangeSet = script;
    },
    nextExecution: (script: ExecutionScript) => {
      nextExecution = script;
    },
    /** Names of the commands sent, in order. */
    commandNames: () => mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name),
    liveChangeSets: () => [...changeSets.keys()],
  };
}

/** One page of `items` from `token` (an offset), with the token of the next page when there is one. */
function page<T, R>(items: readonly T[], token: string | undefined, size: number, shape: (items: T[], next: string | undefined) => R): R {
  const start = Number(token ?? 0);
  const next = start + size < items.length ? String(start + size) : undefined;
  return shape(items.slice(start, start + size), next);
}
