import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

export interface RenderedFile {
  /** Relative path in the new project, with `/` separators. */
  path: string;
  content: Buffer;
}

/** Files stored under another name so npm and git leave them alone in the package. */
const storedNames: Record<string, string> = { _gitignore: ".gitignore" };
const textExtensions = new Set([".php", ".json", ".yaml", ".yml", ".md", ".css", ".svg", ".txt", ""]);

/**
 * Replaces `{{key}}` in text files; an unknown key is a bug in lamp, so it throws. A value of
 * several lines gets the placeholder line's indentation on each line (a YAML block scalar).
 */
function substitute(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string, offset: number) => {
    const value = values[key];
    if (value === undefined) throw new Error(`Template ${file} uses {{${key}}}, which has no value.`);
    if (!value.includes("\n")) return value;
    const indent = /^[ \t]*/.exec(text.slice(text.lastIndexOf("\n", offset) + 1))![0];
    return value
      .split("\n")
      .map((line, index) => (index === 0 || line === "" ? line : indent + line))
      .join("\n");
  });
}

/** Reads a template folder and renders every file in memory, sorted by path. */
export async function renderTemplate(templateDir: string, values: Record<string, string>): Promise<RenderedFile[]> {
  const entries = await readdir(templateDir, { recursive: true, withFileTypes: true });
  const files: RenderedFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    const relative = path.relative(templateDir, absolute).split(path.sep);
    const last = relative.length - 1;
    relative[last] = storedNames[relative[last]!] ?? relative[last]!;
    const raw = await readFile(absolute);
    const content = textExtensions.has(path.extname(entry.name))
      ? Buffer.from(substitute(raw.toString("utf8"), values, relative.join("/")))
      : raw;
    files.push({ path: relative.join("/"), content });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
