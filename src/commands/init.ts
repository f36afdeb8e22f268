import path from "node:path";
import { Command, Option } from "commander";
import type { RunWithContext } from "../core/context.js";
import { architectures, phpVersions } from "../core/bref-layers.js";
import { stackNameProblem } from "../core/names.js";

interface InitFlags {
  name?: string;
  php?: string;
  arch?: string;
  memory?: string;
  force?: boolean;
  database?: boolean;
  router?: boolean;
  domain?: string[];
}

export function initCommand(run: RunWithContext): Command {
  return new Command("init")
    .description("scaffold a PHP project with the serverless LAMP template (Lambda + Bref, API Gateway, S3, CloudFront)")
    .argument("[dir]", "where to create the project (default: the current folder)")
    .option("--name <name>", "stack name: letters, digits, hyphens (default: the folder's name)")
    .addOption(new Option("--php <version>", "PHP version").choices([...phpVersions]))
    .addOption(new Option("--arch <arch>", "Lambda architecture (arm64 costs less per ms)").choices([...architectures]))
    .option("--memory <mb>", "function memory in MB, 128-10240 (default: 1024)")
    .option("--force", "write into a folder that is not empty, replacing files with the same names")
    .option("--database", "add a MySQL database: Aurora Serverless v2 in AWS (free while paused), a local MariaDB under `lamp dev`")
    .option("--no-database", "no database (the default; add one later in lamp.json)")
    .option("--router", "router mode, for apps with many .php entry points (WordPress, DokuWiki): each URL runs the script it names, as under nginx")
    .option(
      "--domain <name>",
      "the site's own domain, e.g. www.example.com; repeat it (or separate with commas) for extra names that redirect to the first",
      (value: string, previous: string[] = []) => [...previous, ...value.split(",").map((name) => name.trim()).filter(Boolean)],
    )
    .action(async (dir: string | undefined, flags: InitFlags, command: Command) =>
      run(command, async (ctx) => {
        const { init } = await import("../scaffold/init.js");
        const target = path.resolve(ctx.cwd, dir ?? ".");
        const ask = !ctx.yes && ctx.ui.interactive;
        const defaultName = path.basename(target).replace(/[^A-Za-z0-9-]/g, "-").replace(/^[^A-Za-z]+/, "") || "lamp-app";
        const globals = command.optsWithGlobals<{ region?: string }>();
        const name =
          flags.name ??
          (ask
            ? await ctx.prompt.text({ message: "Stack name", flag: "--name", initialValue: defaultName, validate: (value) => stackNameProblem(value) })
            : defaultName);
        const region = globals.region || ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION ||
          (ask ? await ctx.prompt.text({ message: "AWS region", flag: "--region", initialValue: "us-east-1" }) : "us-east-1");
        const php = flags.php ??
          (ask ? await ctx.prompt.select({ message: "PHP version", flag: "--php", options: phpVersions.map((value) => ({ value })), initialValue: "8.4" }) : "8.4");
        const arch = flags.arch ??
          (ask ? await ctx.prompt.select({ message: "Architecture", flag: "--arch", options: [{ value: "arm64", hint: "Graviton, ~20% cheaper per ms" }, { value: "x86_64" }], initialValue: "arm64" }) : "arm64");
        const database = flags.database ??
          (ask ? await ctx.prompt.confirm({ message: "Add a MySQL database? (Aurora Serverless v2, free while idle; MariaDB under lamp dev)", flag: "--database", initialValue: false }) : false);
        if (flags.router === undefined && ask) {
          ctx.ui.info(
            ctx.ui.colors.dim(
              "  Router mode is for apps with many .php entry points (WordPress, DokuWiki, phpMyAdmin): /wp-login.php runs wp-login.php, as under nginx.\n" +
                "  Leave it off for a front controller (Laravel, Symfony, Slim): every request runs public/index.php.",
            ),
          );
        }
        const router = flags.router ?? (ask ? await ctx.prompt.confirm({ message: "Router mode (many .php entry points, e.g. WordPress)?", flag: "--router", initialValue: false }) : false);
        await init({ target, name, region, php, arch, memory: flags.memory ?? "1024", force: Boolean(flags.force), database, router, domain: flags.domain }, ctx);
      }),
    );
}
