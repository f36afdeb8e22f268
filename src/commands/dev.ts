import { Command, Option } from "commander";
import type { RunWithContext } from "../core/context.js";
import { wholeNumberFlag } from "../core/flags.js";

interface DevFlags {
  port: string;
  host: string;
  workers: string;
  phpFpm?: string;
  writable?: boolean;
}

export function devCommand(run: RunWithContext): Command {
  return new Command("dev")
    .description("run the app locally the way Lambda runs it: HTTP -> API Gateway v2 event -> FastCGI -> a real php-fpm, with /assets/* served as CloudFront + S3 would")
    .option("--port <port>", "port to listen on", "8000")
    .option("--host <host>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--workers <n>", "Lambda instances (one php-fpm worker each, with its own /tmp): requests served at once, spread over them; 1 for a single instance", "4")
    .option("--php-fpm <path>", "php-fpm binary (default: php-fpm or php-fpmX.Y on PATH, then /usr/sbin)")
    .option("--writable", "let PHP write into the project folder (each write is reported); default: read-only, as /var/task is in Lambda")
    .addOption(new Option("--read-only", "the default since the project is read-only for PHP (kept for old scripts)").hideHelp())
    .action(async (flags: DevFlags, command: Command) =>
      run(command, async (ctx) => {
        const port = wholeNumberFlag("--port", flags.port, 0, 65535, 8000);
        const workers = wholeNumberFlag("--workers", flags.workers, 1, 256, 4);
        const { loadProject } = await import("../project/config.js");
        const { dev } = await import("../dev/server.js");
        const { startDevSchedules } = await import("../console/local-schedule.js");
        const project = await loadProject(ctx.cwd, ctx.stage);
        // lamp.json's schedules run beside the server, at their times (src/console).
        await dev({ project, port, host: flags.host, workers, phpFpm: flags.phpFpm, writable: flags.writable }, ctx, startDevSchedules);
      }),
    );
}
