import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { LampConfig } from "../project/config.js";
import { packagePath } from "../core/paths.js";
import { mailFiles } from "../mail/files.js";
import type { ManagedFile } from "../project/managed-files.js";

/**
 * The files lamp keeps in a WordPress project: wp-config.php, the wp-content/db.php drop-in and the
 * must-use plugin under the document root (templates/wordpress/), plus lamp/aws.php and the mail
 * script (src/mail). Real PHP files, tested under php-fpm.
 */

const wordpressTemplateDir = packagePath("templates", "wordpress");

/** Where WordPress keeps media; in the bucket the same path is the key prefix, served at /wp-content/uploads/*. */
export const uploadsKeyPrefix = "wp-content/uploads/";
export const uploadsPathPattern = "/wp-content/uploads/*";

export async function wordpressFiles(config: Pick<LampConfig, "documentRoot">): Promise<ManagedFile[]> {
  const entries = await readdir(wordpressTemplateDir, { recursive: true, withFileTypes: true });
  const files: ManagedFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    const relative = path.relative(wordpressTemplateDir, absolute).split(path.sep).join("/");
    files.push({ path: `${config.documentRoot.replace(/\/+$/, "")}/${relative}`, content: await readFile(absolute) });
  }
  files.push(...(await mailFiles()));
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Folders that hold WordPress in an existing site, in the order lamp looks (its root is not one: see findWordPress). */
const candidateRoots = ["public", "wordpress", "web", "htdocs", "www", "public_html"];

/**
 * Where an existing WordPress lives in `target`: "" for the folder itself, a subfolder's name, or
 * undefined when there is none (a new site).
 */
export async function findWordPress(target: string): Promise<string | undefined> {
  const has = async (folder: string) => readFile(path.join(target, folder, "wp-settings.php")).then(() => true, () => false);
  if (await has("")) return "";
  for (const folder of candidateRoots) if (await has(folder)) return folder;
  return undefined;
}

/**
 * What lamp keeps in this project for lamp.json's "wordpress" and "mail" (lamp dev and lamp deploy
 * write what is missing), with the reason to show.
 */
export async function maintainedFiles(config: Pick<LampConfig, "documentRoot" | "wordpress" | "mail">): Promise<{ files: ManagedFile[]; why: string }> {
  if (config.wordpress) return { files: await wordpressFiles(config), why: 'lamp.json "wordpress": its configuration, database drop-in, must-use plugin and AWS client' };
  if (config.mail) return { files: await mailFiles(), why: 'lamp.json "mail": mail() through Amazon SES' };
  return { files: [], why: "" };
}

/**
 * A site moved in keeps its media in <documentRoot>/wp-content/uploads, which WordPress no longer
 * reads (media are in the bucket): the line that says how to move them, or undefined.
 */
export async function strandedUploads(root: string, config: Pick<LampConfig, "documentRoot" | "wordpress">): Promise<string | undefined> {
  if (!config.wordpress) return undefined;
  const folder = `${config.documentRoot.replace(/\/+$/, "")}/wp-content/uploads`;
  const inCode = await readdir(path.join(root, folder)).catch(() => []);
  const inStandIn = await readdir(path.join(root, ".lamp", "bucket", "wp-content", "uploads")).catch(() => []);
  if (inCode.length === 0 || inStandIn.length > 0) return undefined;
  return (
    `${folder}/ holds media that WordPress no longer reads: its media are in the stack's bucket (here .lamp/bucket). ` +
    `Copy them: \`mkdir -p .lamp/bucket/wp-content && cp -R ${folder} .lamp/bucket/wp-content/\`, and to the deployed bucket with \`aws s3 sync\` (docs/router-wordpress.md, "Moving an existing site in").`
  );
}
