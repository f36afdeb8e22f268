import { createHash } from "node:crypto";
import { LampError } from "../core/errors.js";
import { webFunction, type Template, type TemplateValue } from "../project/sam-template.js";
import { brefSsmValue, secretParameterName, secretsPath } from "./names.js";
import type { SecretEntry } from "./store.js";

/** Lambda's limit on a function's environment: all names and values together, 4 KB. */
const lambdaEnvironmentLimit = 4096;
/** A stand-in size for a value CloudFormation computes (LAMP_ORIGIN_TOKEN is a 36-character id). */
const computedValueSize = 64;

const secretsVersionVariable = "LAMP_SECRETS_VERSION";

/**
 * Changes whenever a secret is set or removed (names and times, never values): a deploy after
 * `lamp secret set` then updates the function, whose new instances read the new values.
 */
export function secretsVersion(secrets: readonly SecretEntry[]): string {
  const hash = createHash("sha256");
  for (const secret of secrets) hash.update(`${secret.name}\0${secret.lastModified ?? ""}\n`);
  return hash.digest("hex").slice(0, 16);
}

function environmentSize(variables: Record<string, TemplateValue>): number {
  return Object.entries(variables).reduce((total, [name, value]) => total + name.length + (typeof value === "string" ? Buffer.byteLength(value) : computedValueSize), 0);
}

/**
 * The template with the stack's secrets: each becomes `NAME=bref-ssm:/lamp/<stack>/NAME` (resolved at
 * cold start by bref/secrets-loader), and the function may call ssm:GetParameters on that path only.
 * No value is ever in the template. Without secrets the template is returned as it is. Pure.
 */
export function applySecrets(input: Template, options: { stackName: string; secrets: readonly SecretEntry[] }, source = "template.yaml"): Template {
  if (options.secrets.length === 0) return input;
  const template = structuredClone(input);
  const web = webFunction(template, source);
  const properties = (web.resource.Properties ??= {});
  if (properties.Role !== undefined) {
    throw new LampError("config", `${source}: ${web.id} has its own Role, so lamp cannot let it read the stack's secrets.`, `Remove Role (SAM then makes one), or give your role ssm:GetParameters on ${secretsPath(options.stackName)}/*.`);
  }
  const environment = (properties.Environment ?? {}) as Record<string, TemplateValue>;
  const variables = { ...((environment.Variables ?? {}) as Record<string, TemplateValue>) };
  for (const { name } of options.secrets) {
    if (variables[name] !== undefined) {
      throw new LampError("config", `${source}: ${web.id} sets the variable ${name}, which is also a secret of ${options.stackName}.`, `Remove ${name} from ${source}, or remove the secret with \`lamp secret rm ${name}\`.`);
    }
    variables[name] = brefSsmValue(secretParameterName(options.stackName, name));
  }
  variables[secretsVersionVariable] = secretsVersion(options.secrets);
  const size = environmentSize(variables);
  if (size > lambdaEnvironmentLimit) {
    throw new LampError(
      "limit",
      `The function's environment would be about ${size} bytes with ${options.secrets.length} secrets; Lambda's limit is ${lambdaEnvironmentLimit} bytes for all variables together.`,
      "Keep fewer secrets (e.g. several values in one JSON secret), or fewer or shorter variables in lamp.json's environment.",
    );
  }
  properties.Environment = { ...environment, Variables: variables };
  const policies = properties.Policies === undefined ? [] : Array.isArray(properties.Policies) ? properties.Policies : [properties.Policies];
  properties.Policies = [
    ...policies,
    {
      Statement: [
        {
          Sid: "LampSecrets",
          Effect: "Allow",
          Action: "ssm:GetParameters",
          Resource: { "Fn::Sub": `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${secretsPath(options.stackName)}/*` },
        },
      ],
    },
  ];
  return template;
}
