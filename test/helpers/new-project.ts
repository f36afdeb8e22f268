import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { planProject } from "../../src/scaffold/init.js";

/** The project `lamp init` makes, written to a temp folder (no `composer install`: lamp dev does not need it). */
export async function writeNewProject(options: { name?: string; region?: string; php?: string } = {}): Promise<{ root: string; remove(): void }> {
  const root = mkdtempSync(path.join(os.tmpdir(), "lamp-new-project-"));
  const { files } = await planProject({
    target: root,
    name: options.name ?? "shop",
    region: options.region ?? "eu-west-1",
    php: options.php ?? "8.2",
    arch: "x86_64",
    memory: "1024",
    force: false,
  });
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file.path)), { recursive: true });
    writeFileSync(path.join(root, file.path), file.content);
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
