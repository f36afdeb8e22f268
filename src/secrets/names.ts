import { environmentNamePattern, reservedEnvironmentNames } from "../project/config.js";

/**
 * Where a stack's secrets live in SSM Parameter Store: `/lamp/<stack>/<NAME>`, the stack being the
 * stage's (`shop`, `shop-pr-42`), so each stage has its own and the function's policy can name
 * exactly one path. Pure.
 */
export function secretsPath(stackName: string): string {
  return `/lamp/${stackName}`;
}

export function secretParameterName(stackName: string, name: string): string {
  return `${secretsPath(stackName)}/${name}`;
}

/** Bref's convention (bref/secrets-loader): the variable's value names the parameter, resolved at cold start. */
export function brefSsmValue(parameterName: string): string {
  return `bref-ssm:${parameterName}`;
}

/** GetParameters takes at most 10 names: bref/secrets-loader makes one call per 10 secrets at each cold start. */
const namesPerCall = 10;

/** Names lamp's template gives the function itself. */
const lampVariables = new Set(["BREF_RUNTIME", "BREF_BINARY_RESPONSES", "LAMP_ORIGIN_TOKEN", "LAMP_SECRETS_VERSION"]);

/** Why `name` cannot be a secret's name, or undefined: the rules of `environment` names, and no name in both. */
export function secretNameProblem(name: string, environment: Record<string, string>): { message: string; hint: string } | undefined {
  const shown = JSON.stringify(name);
  if (reservedEnvironmentNames.has(name) || lampVariables.has(name)) {
    return { message: `${shown} is a variable Lambda or lamp sets itself.`, hint: "Choose another name, e.g. STRIPE_SECRET_KEY." };
  }
  if (!environmentNamePattern.test(name)) {
    return { message: `${shown} is not an environment variable name.`, hint: "Use a letter, then letters, digits and underscores (at least 2 characters), e.g. STRIPE_SECRET_KEY." };
  }
  if (environment[name] !== undefined) {
    return { message: `${name} is also in lamp.json's environment: PHP would get one or the other.`, hint: `Remove ${name} from lamp.json's environment (its value is then only in the secret).` };
  }
  return undefined;
}

/** What more than 10 secrets cost: one more GetParameters call per 10 at every cold start. */
export function secretsCostNote(count: number): string | undefined {
  if (count <= namesPerCall) return undefined;
  const calls = Math.ceil(count / namesPerCall);
  return (
    `${count} secrets: each cold start makes ${calls} GetParameters calls (one per ${namesPerCall}), each adding some tens of milliseconds. ` +
    "Standard parameters and their API calls cost nothing, but the calls share the account's 40 per second per region: " +
    "many cold starts at once can be throttled. Fewer secrets (e.g. one JSON value) keep it to one call."
  );
}

/**
 * `environment` values that look like secrets: a name that says so and a long value that looks random
 * (not a word, a URL or a path). A warning only: lamp cannot know.
 */
export function secretLookingNames(environment: Record<string, string>): string[] {
  return Object.entries(environment)
    .filter(([name, value]) => /KEY|SECRET|TOKEN|PASSWORD|PASSWD|SALT/i.test(name) && looksRandom(value))
    .map(([name]) => name);
}

function looksRandom(value: string): boolean {
  if (value.length < 16 || /\s/.test(value) || /^[a-z]+:\/\//i.test(value) || value.startsWith("/")) return false;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((kind) => kind.test(value)).length;
  return kinds >= 2 && new Set(value).size >= 10;
}
