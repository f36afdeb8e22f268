import { readFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";

export const phpVersions = ["8.2", "8.3", "8.4", "8.5"] as const;
export type PhpVersion = (typeof phpVersions)[number];
export const architectures = ["arm64", "x86_64"] as const;
export type Architecture = (typeof architectures)[number];

/** Bref 3 publishes its layers from this account (Bref 2 used 534081306603, Bref 1 209497400698). */
export const brefLayerAccount = "873528684822";
/** The Bref release whose layer table ships with lamp (data/bref-<version>-layers.json). */
export const bundledBrefVersion = "3.0.9";

/** layer name -> region -> version, the format of bref/bref's layers.json. */
export type LayerTable = Record<string, Record<string, number>>;

export interface LayerTableSource {
  table: LayerTable;
  /** Where it came from, for messages: the project's vendor/ or lamp's bundled copy. */
  source: string;
}

/** The installed Bref release is the authority; lamp's bundled table is the fallback. */
export async function loadLayerTable(projectRoot?: string): Promise<LayerTableSource> {
  if (projectRoot) {
    const vendored = path.join(projectRoot, "vendor", "bref", "bref", "layers.json");
    try {
      return { table: JSON.parse(await readFile(vendored, "utf8")) as LayerTable, source: vendored };
    } catch (error) {
      if (errnoCode(error) !== "ENOENT" && errnoCode(error) !== "ENOTDIR") {
        throw new LampError("config", `Cannot read ${vendored}: ${(error as Error).message}`, "Run `composer install` again.");
      }
    }
  }
  const bundled = packagePath("data", `bref-${bundledBrefVersion}-layers.json`);
  return { table: JSON.parse(await readFile(bundled, "utf8")) as LayerTable, source: `Bref ${bundledBrefVersion} (bundled with lamp)` };
}

function layerName(php: PhpVersion, arch: Architecture): string {
  const name = `php-${php.replace(".", "")}`;
  return arch === "arm64" ? `arm-${name}` : name;
}

export function layerArn(region: string, name: string, version: number): string {
  const partition = region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  return `arn:${partition}:lambda:${region}:${brefLayerAccount}:layer:${name}:${version}`;
}

export function regionsOf(table: LayerTable): string[] {
  return [...new Set(Object.values(table).flatMap((regions) => Object.keys(regions)))].sort();
}

/** The PHP-FPM layer ARN for a PHP version, architecture and region, or a clear error. */
export function resolveLayer(
  { table, source }: LayerTableSource,
  { php, arch, region }: { php: string; arch: string; region: string },
): string {
  if (!(phpVersions as readonly string[]).includes(php)) {
    throw new LampError("usage", `Unknown PHP version "${php}".`, `Use one of: ${phpVersions.join(", ")}.`);
  }
  if (!(architectures as readonly string[]).includes(arch)) {
    throw new LampError("usage", `Unknown architecture "${arch}".`, `Use one of: ${architectures.join(", ")}.`);
  }
  const name = layerName(php as PhpVersion, arch as Architecture);
  const versions = table[name];
  if (!versions) {
    throw new LampError("usage", `${source} has no layer ${name}.`, `Layers it has: ${Object.keys(table).join(", ")}.`);
  }
  const version = versions[region];
  if (version === undefined) {
    throw new LampError("region", `Bref publishes no ${name} layer in region "${region}".`, `Regions with Bref layers: ${regionsOf(table).join(", ")}.`);
  }
  return layerArn(region, name, version);
}
