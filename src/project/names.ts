import { createHash } from "node:crypto";

/** CloudFormation stack names: letters, digits, hyphens; a letter first; at most 128. */
export function stackNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > 128) return `is ${name.length} characters long; the limit is 128`;
  if (!/^[A-Za-z]/.test(name)) return "must start with a letter";
  const bad = name.match(/[^A-Za-z0-9-]/);
  if (bad) return `contains "${bad[0]}"; use only letters, digits and hyphens`;
  return undefined;
}

/** How many hex digits of the hash a shortened name keeps: 32 bits, enough to keep a stack's names apart. */
const hashLength = 8;

/**
 * `name` when it fits in `max` characters, else a readable prefix, `-` and 8 hex digits of the
 * name's SHA-256: deterministic (the same long name always gives the same short one, so a
 * redeploy finds the same resource) and distinct for names that differ only past the cut.
 * Shortening an AWS name here beats AWS refusing it mid-deploy. Names made of `[a-zA-Z0-9-_]`
 * stay so; a trailing `-`/`_`/`.` of the prefix is dropped so no `--` appears.
 */
export function fitName(name: string, max: number): string {
  if (max < hashLength + 2) throw new RangeError(`fitName: a limit of ${max} leaves no room for a prefix and the hash`);
  if (name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, hashLength);
  const prefix = name.slice(0, max - hashLength - 1).replace(/[-_.]+$/, "");
  return `${prefix}-${hash}`;
}
