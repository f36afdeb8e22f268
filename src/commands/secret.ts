import { Command } from "commander";
import type { Context, RunWithContext } from "../core/context.js";
import { LampError } from "../core/errors.js";

interface SecretFlags {
  local?: boolean;
}

const localOption = ["--local", "the project's local secrets (.lamp/secrets.json, for lamp dev) instead of the stage's, in SSM"] as const;

/** The value, never from the command line (shell history keeps it): piped in, or typed at a hidden prompt. */
async function readValue(ctx: Context, name: string): Promise<string> {
  if (ctx.readInput) return ctx.readInput();
  if (!ctx.ui.interactive) {
    throw new LampError("usage", `No value for ${name}: nothing was piped in and there is no terminal to ask at.`, `Pipe it in: printf %s "$${name}" | lamp secret set ${name}`);
  }
  return ctx.prompt.password({ message: `Value of ${name} (not shown)`, flag: "stdin", validate: (value) => (value.length > 0 ? undefined : "Type the value, or press Ctrl-C.") });
}

export function secretCommand(run: RunWithContext): Command {
  const secret = new Command("secret").description("the stage's secrets: SSM Parameter Store SecureStrings that PHP reads as environment variables (--local: for lamp dev)");
  secret
    .command("set")
    .description("set a secret: the value is read from stdin, or asked for without echo; never from the command line")
    .argument("<name>", "the environment variable PHP reads, e.g. STRIPE_SECRET_KEY")
    .option(...localOption)
    .addHelpText("after", "\nExamples:\n  lamp secret set STRIPE_SECRET_KEY                 (asks for the value)\n  printf %s \"$KEY\" | lamp secret set API_KEY --stage staging")
    .action(async (name: string, flags: SecretFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { setSecret }] = await Promise.all([import("../project/config.js"), import("../secrets/secret.js")]);
        const project = await loadProject(ctx.cwd, ctx.stage);
        const value = await readValue(ctx, name);
        ctx.ui.result(await setSecret({ project, local: Boolean(flags.local), name, value }, ctx));
      }),
    );
  secret
    .command("list")
    .description("the secrets' names and when each last changed (never their values)")
    .option(...localOption)
    .action(async (flags: SecretFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { listStackSecrets }] = await Promise.all([import("../project/config.js"), import("../secrets/secret.js")]);
        const result = await listStackSecrets({ project: await loadProject(ctx.cwd, ctx.stage), local: Boolean(flags.local) }, ctx);
        if (result.secrets.length === 0) ctx.ui.info(`No secrets in ${result.where}.`);
        if (!ctx.ui.json) for (const entry of result.secrets) ctx.ui.out(`${entry.name.padEnd(32)} ${entry.lastModified ?? ""}`.trimEnd());
        ctx.ui.result(result);
      }),
    );
  secret
    .command("rm")
    .description("remove a secret")
    .argument("<name>", "the secret's name")
    .option(...localOption)
    .action(async (name: string, flags: SecretFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { removeSecret }] = await Promise.all([import("../project/config.js"), import("../secrets/secret.js")]);
        ctx.ui.result(await removeSecret({ project: await loadProject(ctx.cwd, ctx.stage), local: Boolean(flags.local), name }, ctx));
      }),
    );
  return secret;
}
