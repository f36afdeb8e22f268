import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { LampError, errnoCode } from "../core/errors.js";

/**
 * The project's runtime layer (templates/app/php): php/conf.d/lamp.ini makes PHP run
 * php/lamp-runtime.php before every script with `auto_prepend_file`. PHP keeps one
 * auto_prepend_file, the last ini file's: another one in php/conf.d either replaces the layer (its
 * origin check gone) or is replaced by it (the app's prepend, a WAF say, silently dropped). So
 * `lamp dev` and `lamp deploy` refuse that, and the app's own prepend goes in php/prepend.php,
 * which the layer runs after its own work.
 */

/** The layer's ini file, relative to the project. */
const runtimeLayerIni = "php/conf.d/lamp.ini";
/** The app's own prepend file, which the layer runs after itself. */
const appPrependFile = "php/prepend.php";

/** The ini files of php/conf.d, other than lamp.ini, that set auto_prepend_file (any value, "" too). */
async function competingPrependFiles(root: string): Promise<string[]> {
  const folder = path.join(root, "php", "conf.d");
  let names: string[];
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith(".ini") && name !== path.basename(runtimeLayerIni)).sort();
  } catch (error) {
    if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return [];
    throw error;
  }
  const found: string[] = [];
  for (const name of names) {
    const text = await readFile(path.join(folder, name), "utf8").catch(() => "");
    if (/^[ \t]*auto_prepend_file[ \t]*=/im.test(text)) found.push(`php/conf.d/${name}`);
  }
  return found;
}

/** Refuses a project whose php/conf.d sets auto_prepend_file beside the runtime layer's; true when the layer is on. */
export async function checkRuntimeLayer(root: string): Promise<boolean> {
  const layerIni = await readFile(path.join(root, runtimeLayerIni), "utf8").catch(() => undefined);
  if (layerIni === undefined) return false;
  const competing = await competingPrependFiles(root);
  if (competing.length > 0) {
    const files = competing.join(" and ");
    throw new LampError(
      "config",
      `${files} set${competing.length === 1 ? "s" : ""} auto_prepend_file, and so does ${runtimeLayerIni} (the runtime layer): PHP keeps only one, so either the layer's origin check or your prepend would silently not run.`,
      `Remove that line and require your file from ${appPrependFile}, which the runtime layer runs after its own work; or delete ${runtimeLayerIni} to turn the layer off.`,
    );
  }
  return true;
}
