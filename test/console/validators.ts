import { existsSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** AWS's own validators, as the CI machine has them; a loud skip locally when absent, a failure in CI. */
import { validatorsBin } from "../helpers/aws-validators.js";

export { validatorsBin };
export const samTranslate = `${validatorsBin}/sam-translate`;
export const cfnLint = `${validatorsBin}/cfn-lint`;
export const validatorsPresent = existsSync(samTranslate) && existsSync(cfnLint);
if (!validatorsPresent) {
  if (process.env.CI) throw new Error(`The AWS validators are missing (${validatorsBin}): CI must have them.`);
  console.warn(`SKIPPING the AWS validator checks: no ${samTranslate} / ${cfnLint} on this machine.`);
}

const run = promisify(execFile);

/** sam-translate then cfn-lint; returns their complaints (empty: both accept the template). */
export async function validate(file: string, translated: string): Promise<{ translate: string; lint: string }> {
  const translate = await run(samTranslate, [file, "-o", translated, "--region", "eu-west-1"]).then(
    () => "",
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
  );
  if (translate) return { translate, lint: "" };
  const lint = await run(cfnLint, ["--regions", "eu-west-1", "--", translated]).then(
    () => "",
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
  );
  return { translate, lint };
}
