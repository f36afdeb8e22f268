import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { gitIgnoresLampFolder, listLocalSecrets, localSecretsFile, removeLocalSecret, setLocalSecret } from "./local.js";
import { secretNameProblem, secretParameterName, secretsCostNote, secretsPath } from "./names.js";
import { deleteSecrets, listSecrets, putSecret, type SecretEntry } from "./store.js";

/** SSM's standard tier holds values up to 4 KB (bigger ones need the paid advanced tier). */
const secretValueLimit = 4096;

export interface SecretTarget {
  project: Project;
  /** --local: the project's .lamp/secrets.json for lamp dev, instead of the stage's SSM path. */
  local: boolean;
}

export interface SecretListResult {
  stackName: string;
  /** The SSM path, or the local file. */
  where: string;
  secrets: SecretEntry[];
}

/** `--stage x` as the user would type it again, for hints. */
function stageFlag(project: Project): string {
  return project.stage === undefined ? "" : ` --stage ${project.stage}`;
}

function regionOf(ctx: Context, project: Project): string {
  return ctx.aws.region(project.config.region) ?? project.config.region;
}

function checkName(name: string, project: Project): void {
  const problem = secretNameProblem(name, project.config.environment);
  if (problem) throw new LampError("usage", `Secret name ${problem.message}`, problem.hint);
}

/** One newline at the end is the one `echo` and most editors add: not part of the value. */
function secretValueFrom(input: string): string {
  const value = input.replace(/\r?\n$/, "");
  if (value.length === 0) throw new LampError("usage", "The secret's value is empty.", "Pipe the value in (`printf %s \"$VALUE\" | lamp secret set NAME`) or type it at the prompt; `lamp secret rm NAME` removes a secret.");
  if (value.includes("\0")) throw new LampError("usage", "The secret's value contains a NUL character, which no environment variable can hold.", "Remove it from the value.");
  if (Buffer.byteLength(value) > secretValueLimit) {
    throw new LampError("usage", `The secret's value is ${Buffer.byteLength(value)} bytes; SSM's standard (free) tier holds at most ${secretValueLimit}.`, "Store a smaller value, e.g. a key rather than a whole file.");
  }
  return value;
}

export async function setSecret(target: SecretTarget & { name: string; value: string }, ctx: Context): Promise<{ name: string; stackName: string; where: string; count: number }> {
  const { project, name } = target;
  checkName(name, project);
  const value = secretValueFrom(target.value);
  const stackName = project.config.stackName;
  if (target.local) {
    await setLocalSecret(project.root, name, value);
    ctx.ui.success(`Set ${name} in ${localSecretsFile} (readable by you only): lamp dev gives it to PHP from its next start.`);
    if (!(await gitIgnoresLampFolder(project.root))) ctx.ui.warn("The project's .gitignore does not ignore .lamp/: add the line /.lamp/ so the file never reaches the repository.");
    return { name, stackName, where: localSecretsFile, count: (await listLocalSecrets(project.root)).length };
  }
  const region = regionOf(ctx, project);
  await putSecret(ctx, { stackName, region, name, value });
  const count = (await listSecrets(ctx, { stackName, region })).length;
  ctx.ui.success(`Set ${name} for ${stackName} (${secretParameterName(stackName, name)}, SecureString, ${region}).`);
  // Bref reads secrets once, at each instance's cold start: running instances keep the old value.
  ctx.ui.info(
    `Instances already running keep the value they read at their start; new ones read this one. To make it take effect now (and to give the function a new secret at all), run \`lamp deploy${stageFlag(project)}\`: it updates the function, so every request after it starts fresh instances.`,
  );
  const cost = secretsCostNote(count);
  if (cost) ctx.ui.warn(cost);
  return { name, stackName, where: secretParameterName(stackName, name), count };
}

export async function listStackSecrets(target: SecretTarget, ctx: Context): Promise<SecretListResult> {
  const { project } = target;
  const stackName = project.config.stackName;
  if (target.local) return { stackName, where: localSecretsFile, secrets: await listLocalSecrets(project.root) };
  return { stackName, where: `${secretsPath(stackName)}/`, secrets: await listSecrets(ctx, { stackName, region: regionOf(ctx, project) }) };
}

export async function removeSecret(target: SecretTarget & { name: string }, ctx: Context): Promise<{ name: string; stackName: string; removed: boolean }> {
  const { project, name } = target;
  const stackName = project.config.stackName;
  const removed = target.local
    ? await removeLocalSecret(project.root, name)
    : (await deleteSecrets(ctx, { stackName, region: regionOf(ctx, project), names: [name] })).includes(name);
  if (!removed) {
    throw new LampError("not-found", `${stackName} has no ${target.local ? "local " : ""}secret ${name}.`, `\`lamp secret list${target.local ? " --local" : stageFlag(project)}\` shows the names there are.`);
  }
  ctx.ui.success(`Removed ${name} from ${target.local ? localSecretsFile : stackName}.`);
  if (!target.local) ctx.ui.info(`The function still names it until the next \`lamp deploy${stageFlag(project)}\`, and a cold start fails to resolve it until then: deploy now.`);
  return { name, stackName, removed };
}

/** Whether composer.json requires bref/secrets-loader, which resolves `bref-ssm:` variables at cold start. */
async function requiresSecretsLoader(root: string): Promise<boolean> {
  try {
    const composer = JSON.parse(await readFile(path.join(root, "composer.json"), "utf8")) as { require?: Record<string, string> };
    return composer.require?.["bref/secrets-loader"] !== undefined;
  } catch {
    return false;
  }
}

/**
 * What a deploy needs to know of the stage's secrets, checked before anything is created: their names
 * (never values), none also in lamp.json's environment, and the Composer package that resolves them.
 */
export async function secretsForDeploy(project: Project, region: string, ctx: Context): Promise<SecretEntry[]> {
  const stackName = project.config.stackName;
  const secrets = await listSecrets(ctx, { stackName, region });
  if (secrets.length === 0) return secrets;
  for (const secret of secrets) {
    if (project.config.environment[secret.name] !== undefined) {
      throw new LampError("config", `${secret.name} is both a secret of ${stackName} and in lamp.json's environment.`, `Remove ${secret.name} from lamp.json's environment, or remove the secret (\`lamp secret rm ${secret.name}${stageFlag(project)}\`).`);
    }
  }
  if (!(await requiresSecretsLoader(project.root))) {
    throw new LampError(
      "dependency",
      `${stackName} has ${secrets.length} secret${secrets.length === 1 ? "" : "s"} (${secrets.map((secret) => secret.name).join(", ")}), but composer.json does not require bref/secrets-loader, which gives them to PHP at cold start.`,
      "Run `composer require bref/secrets-loader`, then deploy again.",
    );
  }
  try {
    await access(path.join(project.root, "vendor", "bref", "secrets-loader"));
  } catch {
    throw new LampError("dependency", "composer.json requires bref/secrets-loader, but vendor/ does not have it: the function's secrets would not be resolved.", "Run `composer install --no-dev`, then deploy again.");
  }
  ctx.ui.info(`Secrets: ${secrets.map((secret) => secret.name).join(", ")} (from ${secretsPath(stackName)}/, resolved by bref/secrets-loader at cold start).`);
  const cost = secretsCostNote(secrets.length);
  if (cost) ctx.ui.warn(cost);
  return secrets;
}
