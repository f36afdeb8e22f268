import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { LampConfig } from "../project/config.js";
import { LampError, errnoCode } from "../core/errors.js";
import { packagePath } from "../core/paths.js";
import type { Ui } from "../core/ui.js";

/**
 * Router mode (lamp.json `"router": true`): the function's handler is lamp's router, a plain PHP
 * file that runs whichever script under the document root the URL names, as nginx would. It lives
 * in the project (so `sam deploy`, the code package and Lambda see a real file) at a fixed path
 * outside the document root, so it can never be requested by its own URL. lamp writes it when it
 * is missing — `lamp init --router`, then `lamp dev` and `lamp deploy` for a project switched to
 * router mode by editing lamp.json — and never overwrites it: an edited or older copy is kept,
 * with a warning that says how to get the current one.
 */

/** Where the router lives in a project, relative to its root (also the function's Handler). */
export const routerHandler = "lamp/router.php";

/** The router as this version of lamp ships it. */
export const bundledRouterPath = packagePath("templates", "router", "router.php");

/** The environment variable that tells the router where the document root is. */
const documentRootVariable = "LAMP_DOCUMENT_ROOT";

/** The file the function runs: the router in router mode, else lamp.json's front controller. */
export function effectiveHandler(config: Pick<LampConfig, "router" | "handler">): string {
  return config.router ? routerHandler : config.handler;
}

/** Variables PHP needs for the handler to work: the router's document root. */
export function routerEnvironment(config: Pick<LampConfig, "router" | "documentRoot">): Record<string, string> {
  return config.router ? { [documentRootVariable]: config.documentRoot } : {};
}

export async function bundledRouter(): Promise<Buffer> {
  return readFile(bundledRouterPath);
}

export type RouterFileState = "written" | "current" | "differs";

/**
 * Makes sure the project has its router: writes lamp's copy when the file is missing, and
 * otherwise leaves it alone, saying whether it is lamp's current copy.
 */
export async function ensureRouterFile(root: string): Promise<RouterFileState> {
  const target = path.join(root, ...routerHandler.split("/"));
  const bundled = await bundledRouter();
  let existing: Buffer | undefined;
  try {
    existing = await readFile(target);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw new LampError("io", `Cannot read ${target}: ${(error as Error).message}`);
  }
  if (existing) return existing.equals(bundled) ? "current" : "differs";
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bundled, { flag: "wx" });
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return ensureRouterFile(root);
    throw new LampError("io", `Cannot write the router to ${target}: ${errnoCode(error) ?? (error as Error).message}.`, "Check the project folder's permissions.");
  }
  return "written";
}

/** The line to show for a router file lamp wrote or found changed; undefined when there is nothing to say. */
function routerFileNotice(state: RouterFileState): { level: "info" | "warn"; message: string } | undefined {
  if (state === "written") return { level: "info", message: `Wrote ${routerHandler} (lamp.json "router": true): lamp's router, the function's handler. Commit it with your code.` };
  if (state === "differs") {
    return {
      level: "warn",
      message: `${routerHandler} is not the router this lamp ships (edited, or from another lamp version); lamp uses it as it is. Delete it to get the current one.`,
    };
  }
  return undefined;
}

/**
 * The file Lambda runs for this project, made ready as lamp dev and lamp deploy both need it: in router
 * mode the document root must exist and lamp/router.php is written when missing; otherwise lamp.json's
 * handler must be a file (Lambda would fail at init with Runtime.NoSuchHandler). Returns its path,
 * relative to the project.
 */
export async function prepareHandler(root: string, config: Pick<LampConfig, "router" | "handler" | "documentRoot">, ui: Pick<Ui, "info" | "warn">): Promise<string> {
  if (config.router) {
    // The folder first: a run refused for a missing document root writes nothing.
    await checkDocumentRoot(root, config.documentRoot);
    const notice = routerFileNotice(await ensureRouterFile(root));
    if (notice) ui[notice.level](notice.message);
    return routerHandler;
  }
  const info = await stat(path.resolve(root, config.handler)).catch(() => undefined);
  if (!info?.isFile()) {
    throw new LampError(
      "config",
      `lamp.json handler "${config.handler}": no such file in ${root}.`,
      "Lambda would fail at init with Runtime.NoSuchHandler. Create the file or fix `handler` in lamp.json.",
    );
  }
  return config.handler;
}

/** The document root must be a folder of the project: the router and the static files come from it. */
async function checkDocumentRoot(root: string, documentRoot: string): Promise<void> {
  const info = await stat(path.join(root, documentRoot)).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LampError(
      "config",
      `lamp.json documentRoot "${documentRoot}": no such folder in ${root}.`,
      "Create it (in router mode it holds your .php entry points, e.g. WordPress), or set documentRoot in lamp.json.",
    );
  }
}
