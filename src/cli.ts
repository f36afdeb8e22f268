import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { createColors } from "picocolors";
import { describeAwsError } from "./core/aws-errors.js";
import { awsSettingsFrom } from "./core/aws.js";
import { createContext, type GlobalOptions, type RunWithContext } from "./core/context.js";
import { resolveStage } from "./project/stage.js";
import { CancelledError, ExitCode, LampError, ScriptExitError, errorData, isLampError } from "./core/errors.js";
import { packagePath } from "./core/paths.js";
import { colorsEnabled, escapeForTerminal } from "./core/ui.js";
import { initCommand } from "./commands/init.js";
import { deployCommand } from "./commands/deploy.js";
import { packageCommand } from "./commands/package.js";
import { infoCommand } from "./commands/info.js";
import { destroyCommand } from "./commands/destroy.js";
import { dbCommand } from "./commands/db.js";
import { syncAssetsCommand } from "./commands/sync-assets.js";
import { logsCommand } from "./commands/logs.js";
import { devCommand } from "./commands/dev.js";
import { secretCommand } from "./commands/secret.js";
import { runCommand } from "./commands/run.js";

/** Where the program prints help and the version; stdout unless a test says otherwise. */
export interface ProgramOutput {
  stdout: { write(text: string): unknown };
  /** --json: the version is printed as `{"version": ...}`. */
  json?: boolean;
}

/**
 * Builds the program. Command modules declare flags only and import their capability lazily,
 * so `lamp --help` and `lamp --version` load neither the AWS SDK nor the dev server.
 */
export function buildProgram(runWithContext: RunWithContext, output: ProgramOutput = { stdout: process.stdout }): Command {
  const version = (JSON.parse(readFileSync(packagePath("package.json"), "utf8")) as { version: string }).version;
  const program = new Command("lamp")
    .description("PHP on AWS Lambda without a web server: scaffold, run locally, deploy, sync assets, read logs.")
    .addOption(new Option("-V, --version", "print the version"))
    .helpOption("-h, --help", "show help")
    .addOption(new Option("--profile <name>", "AWS profile (default: AWS_PROFILE)"))
    .addOption(new Option("--region <region>", "AWS region (default: lamp.json's region, then AWS_REGION, AWS_DEFAULT_REGION, the profile's region)"))
    .addOption(new Option("--endpoint-url <url>", "send AWS calls to this endpoint, e.g. a local emulator (default: AWS_ENDPOINT_URL)"))
    .addOption(new Option("--stage <name>", "the stage to act on, deployed as the stack <stackName>-<stage> (default: LAMP_STAGE; none: the stack itself)"))
    .addOption(new Option("--json", "machine-readable output on stdout"))
    .addOption(new Option("-y, --yes", "never prompt: take defaults and confirm"))
    .addOption(new Option("--verbose", "more detail, and stack traces on errors"))
    .showSuggestionAfterError(true)
    .exitOverride()
    // Help is what the user asked for, also when `lamp` alone asks for it: stdout, not stderr.
    .configureOutput({ writeOut: (text) => output.stdout.write(text), writeErr: (text) => output.stdout.write(text), outputError: () => {} });
  // Commander's own --version prints plain text; with --json a script gets JSON.
  program.on("option:version", () => {
    output.stdout.write(output.json ? `${JSON.stringify({ version })}\n` : `${version}\n`);
    throw new CommanderError(0, "commander.version", version);
  });

  for (const make of [initCommand, devCommand, runCommand, packageCommand, deployCommand, syncAssetsCommand, logsCommand, infoCommand, destroyCommand, dbCommand, secretCommand]) {
    // addCommand does not pass on exitOverride, output and help settings the way .command() does,
    // and subcommands (lamp db shell) were made before their parent had them.
    const command = make(runWithContext).copyInheritedSettings(program);
    for (const subcommand of command.commands) subcommand.copyInheritedSettings(command);
    program.addCommand(command);
  }
  return program;
}

export interface CliIo {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: { isTTY?: boolean } & Partial<AsyncIterable<string | Buffer>>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** `--json` anywhere before a `--`: known before commander has parsed anything (usage errors, --version). */
function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/** The reader of lamp's output went away (`lamp logs | head`): stop as Unix tools do, quietly. */
class OutputClosedError extends CancelledError {
  constructor() {
    super("The output was closed.", true);
  }
}

const stopSignals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/** Runs the CLI and returns the exit code. The only place errors become exit codes. */
export async function runCli(io: CliIo): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    // A second Ctrl-C means "now": cleanup already had its chance.
    if (interrupts > 1) process.exit(ExitCode.cancelled);
    controller.abort(new CancelledError(signal === "SIGINT" ? "Interrupted." : `Stopped by ${signal}.`));
  };
  // Ctrl-C, `kill`, the terminal closing (SIGHUP) and Ctrl-\ (SIGQUIT) all stop a command the same
  // way: its cleanup runs (no php-fpm or temp folder left behind) instead of Node dying on the spot.
  for (const signal of stopSignals) process.on(signal, onSignal);
  // A closed pipe fails writes asynchronously, possibly after this function has returned, so the
  // listeners stay: the command stops as if interrupted (cleaning up), and nothing is printed.
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
    if (!controller.signal.aborted) controller.abort(new OutputClosedError());
  };
  io.stdout.on?.("error", onOutputError);
  io.stderr.on?.("error", onOutputError);
  // The SDK warns on every run that its 2027 releases will need Node 22; lamp pins its SDK
  // versions, so the warning is noise for users (still shown with --verbose).
  if (!io.argv.includes("--verbose")) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  let globals: GlobalOptions = { json: jsonRequested(io.argv) || undefined };
  // --json prints one JSON document: a command that printed its result does not get a second one for its error.
  let resultPrinted = false;
  const runWithContext: RunWithContext = async (command, action) => {
    globals = command.optsWithGlobals<GlobalOptions>();
    // --stage, else LAMP_STAGE, checked before anything runs (src/project/stage.ts).
    const stage = resolveStage(globals.stage, io.env);
    const ctx = await createContext({ ...globals, stage }, { ...io, signal: controller.signal });
    const printResult = ctx.ui.result;
    ctx.ui = {
      ...ctx.ui,
      result: (value) => {
        resultPrinted = ctx.ui.json;
        printResult(value);
      },
    };
    await action(ctx);
  };

  const program = buildProgram(runWithContext, { stdout: io.stdout, json: globals.json });
  try {
    await program.parseAsync(io.argv, { from: "user" });
    return 0;
  } catch (error) {
    if (controller.signal.reason instanceof OutputClosedError) return 0;
    // Ctrl-C during an AWS call surfaces as the SDK's AbortError: it is the interruption it stands for.
    const stopped = controller.signal.aborted && !isLampError(error) ? controller.signal.reason : error;
    return report(stopped, globals, io, resultPrinted, commandPathOf(program, io.argv));
  } finally {
    for (const signal of stopSignals) process.off(signal, onSignal);
  }
}

/** The command the arguments name ("db import"), for a usage error's hint; "" for none. */
function commandPathOf(program: Command, argv: string[]): string {
  const path: string[] = [];
  let current = program;
  for (const arg of argv) {
    if (arg === "--") break;
    const next = current.commands.find((command) => command.name() === arg || command.aliases().includes(arg));
    if (!next) continue;
    path.push(next.name());
    current = next;
  }
  return path.join(" ");
}

function report(error: unknown, globals: GlobalOptions, io: CliIo, resultPrinted: boolean, commandPath = ""): number {
  const colors = colorsEnabled(io.stderr, io.env);
  const pc = createColors(colors);
  // Messages quote what the user typed and the paths lamp met: printed as the Ui prints.
  const stderr = { write: (text: string) => io.stderr.write(escapeForTerminal(text, colors)) };
  if (error instanceof CommanderError) {
    // --help and --version arrive here as "errors" with exit code 0, and so does `lamp` alone,
    // which printed the help (exit code 1 in commander's terms).
    if (error.exitCode === 0 || error.code === "commander.help") return 0;
    const message = error.message.replace(/^error: /, "");
    // A mistake in a command's own arguments is best answered by that command's help.
    const hint = `Run \`lamp ${commandPath ? `${commandPath} ` : ""}--help\` for usage.`;
    if (globals.json) io.stdout.write(`${JSON.stringify({ error: { code: "usage", message, hint } }, null, 2)}\n`);
    stderr.write(`${pc.red("✖")} ${message}\n  ${hint}\n`);
    return ExitCode.usage;
  }
  const verbose = Boolean(globals.verbose) || io.argv.includes("--verbose");
  const lampError: LampError | undefined = isLampError(error)
    ? error
    : describeAwsError(error, awsSettingsFrom(globals, io.env));
  // A script's own exit code, passed through: its output has said everything.
  if (lampError instanceof ScriptExitError && resultPrinted) return lampError.exitCode;
  if (lampError instanceof ScriptExitError && !globals.json) return lampError.exitCode;
  if (globals.json && !resultPrinted) {
    // Scripts reading --json get the failure as data too; the human line still goes to stderr.
    const failure = lampError
      ? errorData(lampError)
      : { code: "unexpected", message: error instanceof Error ? error.message : String(error) };
    io.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
  }
  if (lampError instanceof CancelledError && lampError.alreadyShown) return lampError.exitCode;
  if (lampError) {
    stderr.write(`${pc.red("✖")} ${lampError.message}\n`);
    if (lampError.hint) stderr.write(`  ${lampError.hint}\n`);
    if (verbose) stderr.write(`${pc.dim(String((lampError.cause as Error | undefined)?.stack ?? lampError.stack))}\n`);
    return lampError.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`${pc.red("✖")} Unexpected error: ${message}\n`);
  if (verbose) stderr.write(`${pc.dim(String((error as Error)?.stack ?? ""))}\n`);
  else stderr.write("  Run again with --verbose for details, and please report it.\n");
  return ExitCode.failure;
}

/** The process entry point: `bin/lamp.js` (compiled) and `tsx src/cli.ts` (sources) both land here. */
export async function main(): Promise<void> {
  process.exitCode = await runCli({
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isMain) await main();
