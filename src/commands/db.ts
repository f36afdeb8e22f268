import { Command } from "commander";
import type { RunWithContext } from "../core/context.js";

interface DbFlags {
  remote?: boolean;
}

const remoteOption = ["--remote", "the deployed Aurora database (credentials from Secrets Manager, never printed) instead of the local one"] as const;

export function dbCommand(run: RunWithContext): Command {
  const db = new Command("db").description("the project's MySQL database: a shell, export and import (local by default, --remote for the deployed one)");
  db.command("shell")
    .description("open the MariaDB/MySQL client on the database")
    .option(...remoteOption)
    .action(async (flags: DbFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { shell }] = await Promise.all([import("../project/config.js"), import("../database/db.js")]);
        await shell({ project: await loadProject(ctx.cwd, ctx.stage), remote: Boolean(flags.remote) }, ctx);
      }),
    );
  db.command("export")
    .description("write a SQL dump of the database (default file: <name>-<local|remote>-<time>.sql)")
    .argument("[file]", "where to write the dump")
    .option(...remoteOption)
    .action(async (file: string | undefined, flags: DbFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { exportDatabase }] = await Promise.all([import("../project/config.js"), import("../database/db.js")]);
        ctx.ui.result(await exportDatabase({ project: await loadProject(ctx.cwd, ctx.stage), remote: Boolean(flags.remote), file }, ctx));
      }),
    );
  db.command("import")
    .description("run a SQL dump into the database (asks first when it already has tables; --yes to skip)")
    .argument("<file>", "the SQL dump, e.g. from lamp db export")
    .option(...remoteOption)
    .action(async (file: string, flags: DbFlags, command: Command) =>
      run(command, async (ctx) => {
        const [{ loadProject }, { importDatabase }] = await Promise.all([import("../project/config.js"), import("../database/db.js")]);
        ctx.ui.result(await importDatabase({ project: await loadProject(ctx.cwd, ctx.stage), remote: Boolean(flags.remote), file }, ctx));
      }),
    );
  return db;
}
