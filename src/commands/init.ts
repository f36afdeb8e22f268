import path from "node:path";
import { Command, Option } from "commander";
import type { RunWithContext } from "../core/context.js";
import { architectures, loadLayerTable, phpVersions, regionsOf } from "../project/bref-layers.js";
import { stackNameProblem } from "../project/names.js";

interface InitFlags {
  name?: string;
  php?: string;
  arch?: string;
  memory?: string;
  force?: boolean;
  database?: boolean;
  router?: boolean;
  domain?: string[];
  wordpress?: boolean;
}

export function initCommand(run: RunWithContext): Command {
  return new Command("init")
    .description("scaffold a PHP project with the serverless LAMP template (Lambda + Bref, API Gateway, S3, CloudFront)")
    .argument("[dir]", "where to create the project (default: the current folder)")
    .option("--name <name>", "stack name: letters, digits, hyphens (default: the folder's name)")
    .addOption(new Option("--php <version>", "PHP version (default: this machine's php-fpm's when Bref has it, else 8.4)").choices([...phpVersions]))
    .addOption(new Option("--arch <arch>", "Lambda architecture (arm64 costs less per ms)").choices([...architectures]))
    .option("--memory <mb>", "function memory in MB, 128-10240 (default: 1024)")
    .option("--force", "write into a folder that is not empty, replacing files with the same names")
    .option("--database", "add a MySQL database: Aurora Serverless v2 in AWS (free while paused), a local MariaDB under `lamp dev`")
    .option("--no-database", "no database (the default; add one later in lamp.json)")
    .option("--wordpress", "a WordPress site: router mode, a database, x86_64 with GD, media in the stack's bucket, lamp's wp-config.php and must-use plugin; into an existing site's folder with --force (its files are kept)")
    .option("--router", "router mode, for apps with many .php entry points (WordPress, DokuWiki): each URL runs the script it names, as under nginx")
    .option(
      "--domain <name>",
      "the site's own domain, e.g. www.example.com; repeat it (or separate with commas) for extra names that redirect to the first",
      (value: string, previous: string[] = []) => [...previous, ...value.split(",").map((name) => name.trim()).filter(Boolean)],
    )
    .action(async (dir: string | undefined, flags: InitFlags, command: Command) =>
      run(command, async (ctx) => {
        const { init, checkTargetFolder, defaultPhpVersion, memoryProblem, stackNameFrom } = await import("../scaffold/init.js");
        const target = path.resolve(ctx.cwd, dir ?? ".");
        // Before any question: an answer given for a folder that cannot be used is wasted.
        await checkTargetFolder(target, Boolean(flags.force));
        const ask = !ctx.yes && ctx.ui.interactive;
        const defaultName = stackNameFrom(path.basename(target));
        const name =
          flags.name ??
          (ask
            ? await ctx.prompt.text({ message: "Stack name", flag: "--name", initialValue: defaultName, validate: (value) => stackNameProblem(value) })
            : defaultName);
        const breffed = ask ? regionsOf((await loadLayerTable(target)).table) : [];
        // No lamp.json yet: --region, then the environment and the profile (the one resolver, src/core/aws.ts).
        const region = ctx.aws.region() ||
          (ask
            ? await ctx.prompt.text({
                message: "AWS region",
                flag: "--region",
                initialValue: "us-east-1",
                validate: (value) => (breffed.includes(value.trim()) ? undefined : `Bref has no layers in "${value.trim()}". Regions with layers: ${breffed.join(", ")}.`),
              })
            : "us-east-1");
        const defaultPhp = flags.php ? undefined : defaultPhpVersion(ctx.env).php;
        const php = flags.php ??
          (ask ? await ctx.prompt.select({ message: "PHP version", flag: "--php", options: phpVersions.map((value) => ({ value, hint: value === defaultPhp ? "this machine's PHP" : undefined })), initialValue: defaultPhp }) : defaultPhp!);
        const wordpress = Boolean(flags.wordpress);
        // GD (thumbnails) is one of Bref's extra layers, which exist for x86_64 only.
        const arch = flags.arch ?? (wordpress ? "x86_64" : undefined) ??
          (ask ? await ctx.prompt.select({ message: "Architecture", flag: "--arch", options: [{ value: "arm64", hint: "Graviton, ~20% cheaper per ms" }, { value: "x86_64" }], initialValue: "arm64" }) : "arm64");
        const memory = flags.memory ??
          (ask ? await ctx.prompt.text({ message: "Memory (MB)", flag: "--memory", initialValue: "1024", validate: (value) => memoryProblem(value) }) : "1024");
        const database = flags.database ?? (wordpress || undefined) ??
          (ask ? await ctx.prompt.confirm({ message: "Add a MySQL database? (Aurora Serverless v2, free while idle; MariaDB under lamp dev)", flag: "--database", initialValue: false }) : false);
        if (flags.router === undefined && ask && !wordpress) {
          ctx.ui.info(
            ctx.ui.colors.dim(
              "  Apps with many .php entry points (WordPress, DokuWiki, phpMyAdmin) need the router: /wp-login.php runs wp-login.php, as under nginx.\n" +
                "  A front controller (Laravel, Symfony, Slim) does not: every request runs public/index.php.",
            ),
          );
        }
        const router = flags.router ?? (wordpress || undefined) ?? (ask ? await ctx.prompt.confirm({ message: "Router mode (many .php entry points, e.g. WordPress)?", flag: "--router", initialValue: false }) : false);
        await init({ target, name, region: region.trim(), php, arch, memory: memory.trim(), force: Boolean(flags.force), database, router, domain: flags.domain, wordpress }, ctx);
      }),
    );
}
