import type { Context } from "../core/context.js";
import { secretLookingNames } from "./names.js";

/** lamp.json's environment is in the repository and the function's configuration in clear: say so when a value looks secret. */
export function warnSecretLookingEnvironment(ctx: Pick<Context, "ui">, environment: Record<string, string>): void {
  const names = secretLookingNames(environment);
  if (names.length === 0) return;
  ctx.ui.warn(
    `lamp.json's environment ${names.length === 1 ? "value" : "values"} of ${names.join(", ")} look${names.length === 1 ? "s" : ""} like a secret: lamp.json is in the repository, and the function's configuration shows it in clear. ` +
      `Keep it in SSM instead: \`lamp secret set ${names[0]}\` (then remove it from environment).`,
  );
}
