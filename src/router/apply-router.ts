import type { LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { functionProperty, webFunction, type Template } from "../project/sam-template.js";
import { routerHandler } from "./router.js";

/**
 * The template with the web function's Handler set to the router, for a project switched to
 * router mode by editing lamp.json (a `lamp init --router` template already says so). Pure. A
 * Handler that is neither the router nor lamp.json's front controller was chosen by someone on
 * purpose: that is an error, not something to overwrite silently.
 */
export function applyRouter(input: Template, config: Pick<LampConfig, "router" | "handler">, source = "template.yaml"): Template {
  if (!config.router) return input;
  const template = structuredClone(input);
  const web = webFunction(template, source);
  const handler = functionProperty(template, web.resource, "Handler");
  if (handler === routerHandler) return template;
  if (handler !== config.handler) {
    throw new LampError(
      "config",
      `${source}: ${web.id} has Handler ${JSON.stringify(handler ?? null)}; in router mode (lamp.json "router": true) it must be ${routerHandler}.`,
      `Set Handler: ${routerHandler} in ${source}, or remove "router" from lamp.json.`,
    );
  }
  (web.resource.Properties ??= {}).Handler = routerHandler;
  return template;
}
