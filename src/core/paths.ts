import { fileURLToPath } from "node:url";

/**
 * The package root: `src/core` (tsx) and `dist/core` (compiled) sit at the same depth,
 * so one relative URL serves both.
 */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

export function packagePath(...segments: string[]): string {
  return fileURLToPath(new URL(segments.join("/"), new URL("../../", import.meta.url)));
}
