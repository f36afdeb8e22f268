import { LampError } from "../core/errors.js";

/**
 * Stages: one project deployed as several stacks (production, staging, one per pull request).
 * Pure: the stage → stack-name rule and the per-stage settings of lamp.json live here, and every
 * command reaches them through loadProject (src/project/config.ts).
 */

/** Where a stage comes from when --stage is not given. */
const stageVariable = "LAMP_STAGE";

/** CloudFormation's limit on a stack name, which `<stackName>-<stage>` must respect. */
const stackNameLimit = 128;

/** Why `stage` cannot be a stage name, or undefined when it can. */
export function stageNameProblem(stage: string): string | undefined {
  if (stage.length === 0) return "is empty";
  if (!/^[a-z]/.test(stage)) return "must start with a lower-case letter";
  const bad = stage.match(/[^a-z0-9-]/);
  if (bad) return `contains "${bad[0]}"; use lower-case letters, digits and hyphens`;
  if (stage.endsWith("-") || stage.includes("--")) return "must not end with a hyphen or hold two in a row";
  return undefined;
}

/** The stage asked for: --stage, else LAMP_STAGE; checked, so a bad one stops before anything runs. */
export function resolveStage(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const fromFlag = flag !== undefined;
  const stage = fromFlag ? flag : env[stageVariable] || undefined;
  if (stage === undefined) return undefined;
  const problem = stageNameProblem(stage);
  if (problem) {
    const source = fromFlag ? "--stage" : stageVariable;
    throw new LampError("usage", `${source} ${JSON.stringify(stage)} ${problem}.`, "A stage name is lower-case letters, digits and hyphens, a letter first, e.g. staging or pr-42.");
  }
  return stage;
}

/**
 * The stack a stage deploys to: `<stackName>-<stage>`, or the bare stack name without a stage
 * (so stacks deployed before stages existed keep working). The one place this rule lives.
 */
export function stageStackName(stackName: string, stage: string | undefined): string {
  const name = stage === undefined ? stackName : `${stackName}-${stage}`;
  if (name.length > stackNameLimit) {
    throw new LampError(
      "usage",
      `Stage "${stage}" makes the stack name ${name.length} characters long (${name.slice(0, 40)}…); CloudFormation's limit for a stack name is ${stackNameLimit}.`,
      `Use a stage name of at most ${stackNameLimit - stackName.length - 1} characters, or a shorter stackName in lamp.json.`,
    );
  }
  return name;
}

/**
 * A stage that took the top-level `domain` unasked would put production's names on a second
 * distribution, which CloudFront refuses mid-deploy (one distribution per name): said before.
 */
export function inheritedDomainProblem(project: { stage?: string; stageInheritsDomain?: boolean }, domain: unknown): LampError | undefined {
  if (!project.stage || !project.stageInheritsDomain) return undefined;
  const name = typeof domain === "string" ? domain : (domain as { name?: string } | undefined)?.name;
  return new LampError(
    "config",
    `Stage "${project.stage}" would take lamp.json's domain ${name ?? ""} from the top level, which the stack without a stage serves: CloudFront gives a name to one distribution only.`,
    `In lamp.json's stages, give "${project.stage}" (or a pattern such as "pr-*") its own "domain", or "domain": null for the CloudFront name.`,
  );
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396 (JSON Merge Patch): objects merge key by key, `null` removes a key (a preview stage's
 * `"domain": null`), anything else replaces (arrays included).
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Which entry of lamp.json's `stages` applies to `stage`: its own name, else the longest
 * `prefix*` pattern that matches (`"pr-*"` for every pull-request preview), else none.
 */
export function stageEntryKey(stages: Record<string, Json>, stage: string): string | undefined {
  if (Object.hasOwn(stages, stage)) return stage;
  let best: string | undefined;
  for (const key of Object.keys(stages)) {
    if (!key.endsWith("*")) continue;
    const prefix = key.slice(0, -1);
    if (stage.startsWith(prefix) && (best === undefined || prefix.length > best.length - 1)) best = key;
  }
  return best;
}

/** lamp.json's raw data as the stage sees it: its `stages` entry merged over the top level. */
export function stageData(data: Json, stage: string | undefined): { data: Json; entry?: string } {
  if (stage === undefined || !isObject(data) || !isObject(data.stages)) return { data };
  const entry = stageEntryKey(data.stages, stage);
  if (entry === undefined) return { data };
  return { data: mergePatch(data, data.stages[entry]), entry };
}
