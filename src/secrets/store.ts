import { DeleteParametersCommand, DescribeParametersCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { Context } from "../core/context.js";
import { secretParameterName, secretsPath } from "./names.js";

/** A secret as lamp shows it: never its value. */
export interface SecretEntry {
  name: string;
  /** ISO time of the last change. */
  lastModified?: string;
}

/**
 * Stores the value as a SecureString (standard tier: free; encrypted with the account's AWS-managed
 * key aws/ssm, which the function may use without a KMS permission of its own).
 */
export async function putSecret(ctx: Context, options: { stackName: string; region: string; name: string; value: string }): Promise<void> {
  const ssm = ctx.aws.client(SSMClient, { region: options.region });
  await ssm.send(
    new PutParameterCommand({
      Name: secretParameterName(options.stackName, options.name),
      Value: options.value,
      Type: "SecureString",
      Tier: "Standard",
      Overwrite: true,
      Description: `lamp secret ${options.name} of ${options.stackName}`,
    }),
    { abortSignal: ctx.signal },
  );
}

/** The stack's secrets, by name: DescribeParameters returns metadata only, so no value is ever fetched. */
export async function listSecrets(ctx: Context, options: { stackName: string; region: string }): Promise<SecretEntry[]> {
  const ssm = ctx.aws.client(SSMClient, { region: options.region });
  const prefix = `${secretsPath(options.stackName)}/`;
  const entries: SecretEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "OneLevel", Values: [secretsPath(options.stackName)] }], MaxResults: 50, NextToken }),
      { abortSignal: ctx.signal },
    );
    for (const parameter of page.Parameters ?? []) {
      if (!parameter.Name?.startsWith(prefix)) continue;
      entries.push({ name: parameter.Name.slice(prefix.length), ...(parameter.LastModifiedDate ? { lastModified: parameter.LastModifiedDate.toISOString() } : {}) });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/** Deletes the named secrets (10 per call, the API's maximum); returns the names that existed. */
export async function deleteSecrets(ctx: Context, options: { stackName: string; region: string; names: string[] }): Promise<string[]> {
  const ssm = ctx.aws.client(SSMClient, { region: options.region });
  const deleted: string[] = [];
  for (let start = 0; start < options.names.length; start += 10) {
    const names = options.names.slice(start, start + 10);
    const answer = await ssm.send(new DeleteParametersCommand({ Names: names.map((name) => secretParameterName(options.stackName, name)) }), { abortSignal: ctx.signal });
    for (const parameter of answer.DeletedParameters ?? []) deleted.push(parameter.slice(secretsPath(options.stackName).length + 1));
  }
  return deleted;
}
