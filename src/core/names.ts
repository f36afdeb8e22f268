/** CloudFormation stack names: letters, digits, hyphens; a letter first; at most 128. */
export function stackNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > 128) return `is ${name.length} characters long; the limit is 128`;
  if (!/^[A-Za-z]/.test(name)) return "must start with a letter";
  const bad = name.match(/[^A-Za-z0-9-]/);
  if (bad) return `contains "${bad[0]}"; use only letters, digits and hyphens`;
  return undefined;
}
