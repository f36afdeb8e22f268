import { fileURLToPath } from "node:url";

/**
 * A file of the installed package (templates, schema, data): `src/core` (tsx) and `dist/core`
 * (compiled) sit at the same depth, so one relative URL serves both.
 */
export function packagePath(...segments: string[]): string {
  return fileURLToPath(new URL(segments.join("/"), new URL("../../", import.meta.url)));
}
