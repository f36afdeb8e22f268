import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { TemplateValue } from "../project/sam-template.js";

/**
 * The stack `lamp dev` pretends to run in: the pseudo parameters CloudFormation would give the
 * template, so values the template derives from them (the origin header's value, from the stack id)
 * come out the way they will in AWS, computed from the same expressions.
 */
export interface LocalStack {
  stackName: string;
  region: string;
  accountId: string;
  /** arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>, a new uuid per run. */
  stackId: string;
  /** A made-up HTTP API id, stable per stack name and region: 10 lower-case letters and digits. */
  apiId: string;
  /** The template's Parameters as this run fills them (see withTemplateParameters). */
  parameters?: Record<string, string>;
  /** The template's Conditions, evaluated with those values. */
  conditions?: Record<string, boolean>;
}

/**
 * The stack with the template's Parameters filled as a deploy would: a Default where there is one,
 * a new random value per run for a NoEcho one without (the origin token: a secret no file holds),
 * and its Conditions evaluated (Fn::Equals, Fn::Not, Fn::And, Fn::Or).
 */
export function withTemplateParameters(stack: LocalStack, template: { Parameters?: Record<string, unknown>; Conditions?: Record<string, unknown> }): LocalStack {
  const parameters: Record<string, string> = {};
  for (const [name, declaration] of Object.entries(template.Parameters ?? {})) {
    const { Default, NoEcho } = (declaration ?? {}) as { Default?: unknown; NoEcho?: unknown };
    if (typeof Default === "string" || typeof Default === "number") parameters[name] = String(Default);
    else if (NoEcho === true || NoEcho === "true") parameters[name] = randomBytes(24).toString("hex");
  }
  const filled: LocalStack = { ...stack, parameters, conditions: {} };
  for (const [name, condition] of Object.entries(template.Conditions ?? {})) {
    const value = evaluateCondition(condition as TemplateValue, filled);
    if (value !== undefined) filled.conditions![name] = value;
  }
  return filled;
}

function evaluateCondition(value: TemplateValue | undefined, stack: LocalStack): boolean | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const [key] = Object.keys(value);
  const argument = value[key!];
  if (key === "Condition" && typeof argument === "string") return stack.conditions?.[argument];
  if (!Array.isArray(argument)) return undefined;
  if (key === "Fn::Equals") {
    const [left, right] = argument.map((item) => resolveLocally(item, stack));
    return left === undefined || right === undefined ? undefined : left === right;
  }
  const items = argument.map((item) => evaluateCondition(item, stack));
  if (items.some((item) => item === undefined)) return undefined;
  if (key === "Fn::Not") return !items[0];
  if (key === "Fn::And") return items.every(Boolean);
  if (key === "Fn::Or") return items.some(Boolean);
  return undefined;
}

export function localStack(stackName: string, region: string, uuid: string = randomUUID()): LocalStack {
  const accountId = "000000000000";
  const digest = createHash("sha256").update(`${stackName}\0${region}`).digest();
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const apiId = Array.from(digest.subarray(0, 10), (byte) => alphabet[byte % alphabet.length]).join("");
  return { stackName, region, accountId, stackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/${uuid}`, apiId };
}

/** The domain API Gateway gives the HTTP API: what PHP sees as Host behind CloudFront. */
export function apiDomainOf(stack: LocalStack): string {
  return `${stack.apiId}.execute-api.${stack.region}.amazonaws.com`;
}

/**
 * A template value resolved the way CloudFormation would in `stack`: strings, and the intrinsic
 * functions over pseudo parameters (Ref AWS::StackId/StackName/Region/AccountId/URLSuffix/Partition,
 * Fn::Select, Fn::Split, Fn::Join, Fn::Sub) and over the template's parameters and conditions when
 * the stack has them (Ref, Fn::If). Undefined for anything that needs a deployed resource.
 */
export function resolveLocally(value: TemplateValue | undefined, stack: LocalStack): string | undefined {
  const resolved = resolve(value, stack);
  return typeof resolved === "string" ? resolved : undefined;
}

function pseudoParameter(name: string, stack: LocalStack): string | undefined {
  switch (name) {
    case "AWS::StackId":
      return stack.stackId;
    case "AWS::StackName":
      return stack.stackName;
    case "AWS::Region":
      return stack.region;
    case "AWS::AccountId":
      return stack.accountId;
    case "AWS::URLSuffix":
      return "amazonaws.com";
    case "AWS::Partition":
      return "aws";
    default:
      return undefined;
  }
}

function resolve(value: TemplateValue | undefined, stack: LocalStack): string | string[] | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => resolve(item, stack));
    return items.every((item): item is string => typeof item === "string") ? items : undefined;
  }
  if (!value || typeof value !== "object") return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const argument = value[keys[0]!];
  switch (keys[0]) {
    case "Ref":
      return typeof argument === "string" ? (pseudoParameter(argument, stack) ?? stack.parameters?.[argument]) : undefined;
    case "Fn::If": {
      if (!Array.isArray(argument) || argument.length !== 3 || typeof argument[0] !== "string") return undefined;
      const condition = stack.conditions?.[argument[0]];
      return condition === undefined ? undefined : resolve(condition ? argument[1] : argument[2], stack);
    }
    case "Fn::Select": {
      if (!Array.isArray(argument) || argument.length !== 2) return undefined;
      const index = resolve(argument[0], stack);
      const list = resolve(argument[1], stack);
      return typeof index === "string" && Array.isArray(list) ? list[Number(index)] : undefined;
    }
    case "Fn::Split": {
      if (!Array.isArray(argument) || argument.length !== 2 || typeof argument[0] !== "string") return undefined;
      const source = resolve(argument[1], stack);
      return typeof source === "string" ? source.split(argument[0]) : undefined;
    }
    case "Fn::Join": {
      if (!Array.isArray(argument) || argument.length !== 2 || typeof argument[0] !== "string") return undefined;
      const items = resolve(argument[1], stack);
      return Array.isArray(items) ? items.join(argument[0]) : undefined;
    }
    case "Fn::Sub": {
      if (typeof argument !== "string") return undefined;
      let unresolved = false;
      const text = argument.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        const replacement = pseudoParameter(name.trim(), stack) ?? stack.parameters?.[name.trim()];
        if (replacement === undefined) unresolved = true;
        return replacement ?? "";
      });
      return unresolved ? undefined : text.replace(/\$\{!/g, "${");
    }
    default:
      return undefined;
  }
}
