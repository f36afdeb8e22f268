import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { describeAwsError } from "../core/aws-errors.js";
import { brefLayerAccount, bundledBrefVersion, layerArn, loadLayerTable, regionsOf, type LayerTableSource } from "../project/bref-layers.js";
import { loadProject, type Project } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { inheritedDomainProblem } from "../project/stage.js";
import { prepareHandler } from "../router/router.js";
import { packageExclusion } from "./package.js";
import { literalLayers, readTemplate, templateFileName, webFunction, type Template } from "../project/sam-template.js";
import { checkRuntimeLayer } from "../project/runtime-layer.js";

/** Everything checked before a deploy creates anything. */
export interface PreflightResult {
  project: Project;
  template: Template;
  region: string;
  account: string;
  /** The installed bref/bref version, when Composer recorded one. */
  brefVersion?: string;
}

/** Which Bref major publishes layers from which AWS account. */
const brefMajorByAccount: Record<string, number> = { [brefLayerAccount]: 3, "534081306603": 2, "209497400698": 1 };

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The version Composer installed, from vendor/composer/installed.json (Composer 1 and 2 layouts). */
async function installedBrefVersion(root: string): Promise<string | undefined> {
  try {
    const data = JSON.parse(await readFile(path.join(root, "vendor", "composer", "installed.json"), "utf8")) as unknown;
    const packages = (Array.isArray(data) ? data : (data as { packages?: unknown[] }).packages ?? []) as { name?: string; version?: string }[];
    return packages.find((entry) => entry.name === "bref/bref")?.version;
  } catch {
    return undefined;
  }
}

function majorOf(version: string | undefined): number | undefined {
  const match = version?.match(/^v?(\d+)\./);
  return match ? Number(match[1]) : undefined;
}

/**
 * The files the layer's bootstrap loads from the package (Bref 2 and 3): without them the function
 * fails at its first request, long after a "successful" deploy.
 */
const brefRuntimeFiles = ["src/FpmRuntime/Main.php", "src/FpmRuntime/FpmHandler.php"] as const;

async function checkVendor(root: string): Promise<string | undefined> {
  const hint = "Run `composer install --no-dev --optimize-autoloader` in the project first.";
  if (!(await exists(path.join(root, "vendor", "autoload.php")))) {
    throw new LampError("dependency", "vendor/autoload.php is missing: the Composer dependencies are not installed.", hint);
  }
  const bref = path.join(root, "vendor", "bref", "bref");
  if (!(await exists(bref))) {
    throw new LampError("dependency", "bref/bref is not installed in vendor/: Bref's PHP-FPM runtime needs it.", "Run `composer require bref/bref`, then `composer install --no-dev`.");
  }
  return checkBrefInstall(root, bref, hint);
}

/** vendor/bref/bref is Composer's install of Bref's runtime, of the release whose layers lamp uses. */
async function checkBrefInstall(root: string, bref: string, hint: string): Promise<string> {
  const missing: string[] = [];
  for (const file of brefRuntimeFiles) if (!(await exists(path.join(bref, file)))) missing.push(`vendor/bref/bref/${file}`);
  if (missing.length > 0) {
    throw new LampError("dependency", `vendor/bref/bref is not a complete Bref install (${missing.join(", ")} missing): the function would fail at its first request.`, `Remove vendor/bref and ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`);
  }
  const version = await installedBrefVersion(root);
  if (!version) {
    throw new LampError("dependency", "vendor/composer/installed.json does not list bref/bref: vendor/ was not made by Composer, so lamp cannot tell which Bref release it holds.", hint);
  }
  const hasOwnTable = await exists(path.join(bref, "layers.json"));
  if (!hasOwnTable && majorOf(version) !== majorOf(bundledBrefVersion)) {
    throw new LampError(
      "dependency",
      `bref/bref ${version} is installed without its layers.json, and lamp's own layer table is for Bref ${bundledBrefVersion}: the layers would not match the runtime.`,
      `Run \`composer require bref/bref:^${majorOf(bundledBrefVersion)}\`, then \`composer install --no-dev\`.`,
    );
  }
  return version;
}

interface ParsedLayer {
  region: string;
  account: string;
  name: string;
  version: number;
}

function parseLayerArn(arn: string): ParsedLayer | undefined {
  const match = arn.match(/^arn:[\w-]+:lambda:([\w-]+):(\d{12}):layer:([\w-]+):(\d+)$/);
  return match ? { region: match[1]!, account: match[2]!, name: match[3]!, version: Number(match[4]) } : undefined;
}

/** The Bref 3 layer name for a layer of any Bref release: `php-84-fpm` (Bref 2) -> `php-84`. */
function bref3Name(name: string): string {
  return name.replace(/-fpm$/, "");
}

/**
 * The template's Bref layer: from the same major release as the installed bref/bref, and
 * published in the stack's region (a layer from another region fails at deploy time).
 */
function checkLayers(template: Template, layers: LayerTableSource, region: string, brefVersion: string | undefined): void {
  const web = webFunction(template, templateFileName);
  const installedMajor = majorOf(brefVersion);
  for (const arn of literalLayers(template, web.resource)) {
    const layer = parseLayerArn(arn);
    if (!layer) continue;
    const major = brefMajorByAccount[layer.account];
    if (major === undefined) continue; // not a Bref layer: the user's own extension layer
    const name = bref3Name(layer.name);
    const published = layers.table[name]?.[region];
    const suggestion = published !== undefined ? ` Use ${layerArn(region, name, published)}.` : "";
    if (installedMajor !== undefined && major !== installedMajor) {
      throw new LampError(
        "config",
        `${templateFileName}: ${web.id} uses a Bref ${major} layer (${layer.name}), but vendor/ has bref/bref ${brefVersion} (Bref ${installedMajor}).`,
        `Layer and package must be the same Bref release.${suggestion}`,
      );
    }
    if (layer.region !== region) {
      throw new LampError(
        "region",
        `${templateFileName}: the Bref layer ${layer.name} is the one published in ${layer.region}, but the stack deploys to ${region}.`,
        `Lambda only attaches layers from the function's own region.${suggestion}`,
      );
    }
    if (major === 3 && layers.table[name] && published === undefined) {
      throw new LampError("region", `Bref publishes no ${name} layer in ${region}.`, `Regions with Bref layers: ${regionsOf(layers.table).join(", ")}.`);
    }
  }
}

/** The account the credentials belong to; a clear error naming what was tried when there are none. */
async function callerAccount(ctx: Context, region: string): Promise<string> {
  const sts = ctx.aws.client(STSClient, { region });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal });
    if (!identity.Account) throw new LampError("credentials", "AWS did not say which account the credentials belong to.");
    return identity.Account;
  } catch (error) {
    if (error instanceof LampError || ctx.signal.aborted) throw error;
    throw describeAwsError(error, ctx.aws.settings) ?? error;
  }
}

/** Everything that can be checked without AWS: the project, its template, vendor/, the layers. */
export async function localChecks(root: string, ctx: Context): Promise<Omit<PreflightResult, "account">> {
  const project = await loadProject(root, ctx.stage);
  const { config } = project;
  const domainProblem = inheritedDomainProblem(project, config.domain);
  if (domainProblem) throw domainProblem;
  const template = await readTemplate(root);
  const region = ctx.aws.region(config.region) ?? config.region;

  const handler = await prepareHandler(root, config, ctx.ui);
  const handlerExclusion = packageExclusion(handler, { assetsDir: config.assets.dir, exclude: config.package.exclude });
  if (handlerExclusion) {
    throw new LampError("config", `The handler ${handler} would be left out of the code package (${handlerExclusion}).`, "Change lamp.json's package.exclude or handler.");
  }
  await checkRuntimeLayer(root);
  const brefVersion = await checkVendor(root);
  checkLayers(template, await loadLayerTable(root), region, brefVersion);
  return { project, template, region, brefVersion };
}

/** Local checks first (no network needed to find a missing vendor/), then the credentials. */
export async function preflight(root: string, ctx: Context): Promise<PreflightResult> {
  const local = await localChecks(root, ctx);
  return { ...local, account: await callerAccount(ctx, local.region) };
}
