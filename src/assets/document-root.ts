import { stat } from "node:fs/promises";
import path from "node:path";

/**
 * The document root (lamp.json `documentRoot`) as a folder to sync, or undefined when the project
 * has none (an API-only project): its static files are then simply not there to upload.
 */
export async function documentRootFolder(projectRoot: string, documentRoot: string): Promise<string | undefined> {
  const folder = path.resolve(projectRoot, documentRoot);
  const info = await stat(folder).catch(() => undefined);
  return info?.isDirectory() ? folder : undefined;
}
