import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { LampConfig } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError, errnoCode } from "../core/errors.js";
import { ensureConsoleFile } from "../console/handler.js";
import { caBundleFile, ensureCaBundle } from "../database/ca-bundle.js";
import { describeDanglingLinks } from "../project/dangling-links.js";
import { ensureManagedFiles } from "../project/managed-files.js";
import { maintainedFiles } from "../wordpress/files.js";
import { loadExtraLayerTable, requestedExtensions, syncExtensionsIni } from "../project/php-extensions.js";
import { certificateParameter } from "../domain/apply-domain.js";
import { siteDomain } from "../domain/names.js";
import type { Template } from "../project/sam-template.js";
import { routerHandler } from "../router/router.js";
import { buildCodePackage, formatBytes, type CodePackage } from "./package.js";
import { localChecks } from "./preflight.js";
import { capabilitiesFor, deployableTemplate } from "./deployable-template.js";

/**
 * `lamp package`: what `lamp deploy` would send, written to a folder, with no AWS call. The
 * template comes from the same builder as a deploy's (deployableTemplate), its CodeUri naming
 * the zip beside it, so `sam deploy` or `aws cloudformation package` can take the folder as is.
 */

/** The code package, as `lamp deploy` and `lamp package` both make it. */
export async function zipProject(ctx: Context, root: string, config: LampConfig, zipPath: string, extraExclude: readonly string[] = []): Promise<CodePackage> {
  // Bref's optional extensions (intl…) are turned on by an ini file in the package, as under lamp dev.
  if (await syncExtensionsIni(root, requestedExtensions(config))) ctx.ui.note("Wrote php/conf.d/lamp-extensions.ini from lamp.json's php.extensions.");
  // The function's MYSQL_ATTR_SSL_CA names the RDS CA bundle: a project that gained its database in
  // lamp.json after init gets the file (and keeps it in its repo), so the package holds it.
  if (config.database && (await ensureCaBundle(root))) {
    ctx.ui.info(`Added ${caBundleFile}: Amazon RDS's CA certificates, with which PHP verifies the database's TLS certificate (commit it).`);
  }
  // The console function's handler must be in the package (Lambda fails at init without it).
  await ensureConsoleFile(root, ctx.ui);
  // WordPress's configuration and plugin, the AWS client and the sendmail script go in the package.
  const maintained = await maintainedFiles(config);
  await ensureManagedFiles(root, maintained.files, maintained.why, ctx.ui);
  const zipping = ctx.ui.progress("Packaging the code");
  try {
    const code = await buildCodePackage(root, { assetsDir: config.assets.dir, exclude: [...config.package.exclude, ...extraExclude] }, zipPath, ctx.signal);
    zipping.done(`Packaged ${code.files} files: ${formatBytes(code.size)} zipped, ${formatBytes(code.unzippedSize)} unzipped`);
    if (code.danglingLinks.length > 0) ctx.ui.warn(describeDanglingLinks(code.danglingLinks, "left out of the code package"));
    return code;
  } catch (error) {
    zipping.fail("Packaging failed");
    throw error;
  }
}

const defaultPackageDir = path.join(".lamp", "package");
const packageFiles = { template: "template.json", code: "code.zip", summary: "summary.txt" } as const;

export interface PackageOptions {
  root: string;
  /** The output folder (relative to root, or absolute); default .lamp/package. */
  out?: string;
}

export interface PackageResult {
  stackName: string;
  region: string;
  out: string;
  template: string;
  code: string;
  summary: string;
  package: { sha256: string; bytes: number; files: number };
  /** Resource count per type, as the template declares them (before the SAM transform). */
  resources: Record<string, number>;
  /** What lamp.json added to template.yaml, one phrase each. */
  added: string[];
  /** The template's parameters: the values a deploy gives (lamp deploy fills lamp's own). */
  parameters: { name: string; description: string; required: boolean }[];
  capabilities: string[];
}

function resourcesByType(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values(template.Resources ?? {})) counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** What lamp.json adds to template.yaml at package time, one phrase each. */
function additions(config: LampConfig, source: Template, deployable: Template): string[] {
  const added: string[] = [];
  const newIds = Object.keys(deployable.Resources ?? {}).filter((id) => !source.Resources?.[id]);
  if (config.router) added.push(`router: the function runs ${routerHandler} (every .php file of ${config.documentRoot}/ is an entry point)`);
  if (config.database) added.push(`database "${config.database.name}": Aurora MySQL Serverless v2, ${config.database.network} network (${newIds.length} resources, DB_* and DATABASE_URL for PHP)`);
  const domain = siteDomain(config.domain);
  if (domain) added.push(`domain: ${domain.names.join(", ")} on the distribution (certificate: parameter ${certificateParameter.name})`);
  if (config.schedule?.length) added.push(`schedule: ${config.schedule.length} EventBridge Scheduler entr${config.schedule.length === 1 ? "y" : "ies"} for the console function`);
  if (config.php?.extensions.length) added.push(`PHP extensions: ${config.php.extensions.join(", ")}`);
  const variables = Object.keys(config.environment);
  if (variables.length > 0) added.push(`environment: ${variables.join(", ")}`);
  return added;
}

/** The one screen `lamp package` prints and writes beside the template. */
export function formatPackageSummary(result: PackageResult): string[] {
  const lines = [`${result.stackName} (${result.region}): ${Object.values(result.resources).reduce((a, b) => a + b, 0)} resources in template.json`];
  for (const [type, count] of Object.entries(result.resources)) lines.push(`  ${String(count).padStart(3)}  ${type}`);
  lines.push(result.added.length > 0 ? "Added from lamp.json:" : "Added from lamp.json: nothing (template.yaml as it is, with the code and environment)");
  for (const phrase of result.added) lines.push(`  - ${phrase}`);
  lines.push(`Code: ${packageFiles.code}, ${result.package.files} files, ${formatBytes(result.package.bytes)} (sha256 ${result.package.sha256.slice(0, 12)}…)`);
  for (const parameter of result.parameters) lines.push(`Parameter ${parameter.name}${parameter.required ? "" : " (has a default)"}: ${parameter.description}`);
  const overrides = result.parameters
    .filter((parameter) => parameter.required)
    .map((parameter) => `${parameter.name}=<value>`)
    .join(" ");
  lines.push(
    "Deploy this folder without lamp:",
    `  sam deploy --template-file ${path.join(result.out, packageFiles.template)} --stack-name ${result.stackName} --region ${result.region} \\`,
    `    --capabilities ${result.capabilities.join(" ")} --resolve-s3${overrides ? ` \\\n    --parameter-overrides ${overrides}` : ""}`,
  );
  return lines;
}

/** Writes a file whole or not at all: a reader never sees half of it. */
async function writeWhole(file: string, content: string): Promise<void> {
  const partial = `${file}.partial`;
  await writeFile(partial, content);
  await rename(partial, file);
}

/** The output folder as a package exclusion, when it is inside the project (a folder outside needs none). */
function outExclusion(root: string, out: string): string[] {
  const relative = path.relative(root, out);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? [relative.split(path.sep).join("/")] : [];
}

export async function packageProject(options: PackageOptions, ctx: Context): Promise<PackageResult> {
  const checked = await localChecks(options.root, ctx);
  const { config } = checked.project;
  // Built before zipping: a template problem stops the command before minutes of work.
  const deployable = deployableTemplate(checked.template, { ...config, region: checked.region }, { file: packageFiles.code }, await loadExtraLayerTable());
  const out = path.resolve(options.root, options.out ?? defaultPackageDir);
  try {
    await mkdir(out, { recursive: true });
  } catch (error) {
    throw new LampError("io", `Cannot create ${out}: ${(error as Error).message}`, errnoCode(error) === "EACCES" ? "Choose a writable folder with --out." : undefined);
  }
  const files = { template: path.join(out, packageFiles.template), code: path.join(out, packageFiles.code), summary: path.join(out, packageFiles.summary) };
  const partialZip = `${files.code}.partial`;
  let code: CodePackage;
  try {
    code = await zipProject(ctx, options.root, config, partialZip, outExclusion(options.root, out));
    await rename(partialZip, files.code);
  } finally {
    await rm(partialZip, { force: true });
  }
  const declared = (deployable.Parameters ?? {}) as Record<string, { Description?: string; Default?: unknown }>;
  const result: PackageResult = {
    stackName: config.stackName,
    region: checked.region,
    out,
    ...files,
    package: { sha256: code.sha256, bytes: code.size, files: code.files },
    resources: resourcesByType(deployable),
    added: additions(config, checked.template, deployable),
    parameters: Object.entries(declared).map(([name, parameter]) => ({ name, description: parameter.Description ?? "", required: parameter.Default === undefined })),
    capabilities: capabilitiesFor(deployable),
  };
  // Readable JSON: a reviewer diffs it; `lamp deploy` sends the same data compact (test/deploy/package-command.test.ts).
  await writeWhole(files.template, `${JSON.stringify(deployable, null, 2)}\n`);
  await writeWhole(files.summary, `${formatPackageSummary(result).join("\n")}\n`);
  return result;
}
