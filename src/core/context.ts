import type { Command } from "commander";
import { checkAwsSettings, createAwsClients, awsSettingsFrom, type AwsClients } from "./aws.js";
import { systemClock, type Clock } from "./clock.js";
import { createPrompter, type Prompter } from "./prompt.js";
import { createTerminalUi, type Ui } from "./ui.js";

/** Options every command accepts (declared once on the root program in cli.ts). */
export interface GlobalOptions {
  profile?: string;
  region?: string;
  endpointUrl?: string;
  json?: boolean;
  yes?: boolean;
  verbose?: boolean;
  /** The project's stage (its own stack): --stage, else LAMP_STAGE, as cli.ts resolved and checked it. */
  stage?: string;
}

/**
 * Everything a capability may touch outside its arguments: where it runs, how it talks to
 * the user, the time, AWS, and the signal that says "stop" (Ctrl-C, SIGTERM).
 */
export interface Context {
  cwd: string;
  env: NodeJS.ProcessEnv;
  ui: Ui;
  prompt: Prompter;
  clock: Clock;
  signal: AbortSignal;
  aws: AwsClients;
  /** --yes: take defaults, confirm nothing. */
  yes: boolean;
  /** The stage every command acts on (--stage, LAMP_STAGE), checked; absent: the project's own stack. */
  stage?: string;
  /** What was piped into lamp (a secret's value); undefined at a terminal, where lamp asks instead. */
  readInput?: () => Promise<string>;
}

/**
 * How a command gets its context: built from the global flags when the action runs. Lives here,
 * not in cli.ts, so command modules depend on core only and cli.ts on them (no cycle).
 */
export type RunWithContext = (command: Command, action: (ctx: Context) => Promise<void>) => Promise<void>;

export interface ProcessIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: { isTTY?: boolean } & Partial<AsyncIterable<string | Buffer>>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  signal: AbortSignal;
}

export async function createContext(globals: GlobalOptions, io: ProcessIo): Promise<Context> {
  const json = Boolean(globals.json);
  const yes = Boolean(globals.yes);
  // Prompts need a person at both ends: a TTY to read from and one to draw on.
  const interactive = !yes && !json && Boolean(io.stdin.isTTY) && Boolean(io.stdout.isTTY) && !io.env.CI;
  const stage = globals.stage;
  const awsSettings = awsSettingsFrom(globals, io.env);
  checkAwsSettings(awsSettings, globals, io.env);
  const ui = createTerminalUi({ json, verbose: Boolean(globals.verbose), interactive, stdout: io.stdout, stderr: io.stderr, env: io.env });
  return {
    cwd: io.cwd,
    env: io.env,
    ui,
    prompt: await createPrompter(ui),
    clock: systemClock,
    signal: io.signal,
    aws: createAwsClients(awsSettings, io.signal, (line) => ui.note(line)),
    yes,
    ...(stage === undefined ? {} : { stage }),
    ...(io.stdin.isTTY || !io.stdin[Symbol.asyncIterator] ? {} : { readInput: () => readAll(io.stdin as AsyncIterable<string | Buffer>) }),
  };
}

async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
