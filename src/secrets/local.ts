import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";

/**
 * Secrets for `lamp dev` (and `lamp run`): `.lamp/secrets.json` in the project, a JSON object of
 * name → value, readable by its owner only (0600). `.lamp/` is git-ignored by `lamp init` and never
 * packaged, so a value written here reaches neither the repository nor AWS.
 */
export const localSecretsFile = path.join(".lamp", "secrets.json");

export interface LocalSecret {
  name: string;
  lastModified?: string;
}

export async function readLocalSecrets(root: string): Promise<Record<string, string>> {
  const file = path.join(root, localSecretsFile);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return {};
    throw new LampError("io", `Cannot read ${file}: ${(error as Error).message}.`, "Make it readable by you, or delete it and set the secrets again.");
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Never quote the text: it holds secret values.
    throw new LampError("config", `${file} is not valid JSON.`, "Fix it, or delete it and set the local secrets again with `lamp secret set NAME --local`.");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data) || Object.values(data).some((value) => typeof value !== "string")) {
    throw new LampError("config", `${file} must be a JSON object of names and string values.`, "Delete it and set the local secrets again with `lamp secret set NAME --local`.");
  }
  return data as Record<string, string>;
}

/** Writes the whole file anew (a private temporary file renamed over it), so no reader sees half of it. */
async function writeLocalSecrets(root: string, secrets: Record<string, string>): Promise<void> {
  const file = path.join(root, localSecretsFile);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only to a new file, and the umask may have narrowed it: say it exactly.
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** Whether the project's .gitignore ignores .lamp/ (lamp init writes `/.lamp/`; older projects may lack it). */
export async function gitIgnoresLampFolder(root: string): Promise<boolean> {
  try {
    const lines = (await readFile(path.join(root, ".gitignore"), "utf8")).split(/\r?\n/).map((line) => line.trim());
    return lines.some((line) => /^\/?\.lamp\/?(\*\*?)?$/.test(line));
  } catch {
    return false;
  }
}

export async function setLocalSecret(root: string, name: string, value: string): Promise<void> {
  const secrets = await readLocalSecrets(root);
  await writeLocalSecrets(root, { ...secrets, [name]: value });
}

/** Removes one local secret; false when there was none of that name. */
export async function removeLocalSecret(root: string, name: string): Promise<boolean> {
  const secrets = await readLocalSecrets(root);
  if (!Object.hasOwn(secrets, name)) return false;
  delete secrets[name];
  await writeLocalSecrets(root, secrets);
  return true;
}

/** The local secrets' names, with the file's modification time (values are never listed). */
export async function listLocalSecrets(root: string): Promise<LocalSecret[]> {
  const secrets = await readLocalSecrets(root);
  const names = Object.keys(secrets).sort();
  if (names.length === 0) return [];
  const modified = (await stat(path.join(root, localSecretsFile))).mtime.toISOString();
  return names.map((name) => ({ name, lastModified: modified }));
}
