import pc from "picocolors";
import { createAwsClients, type AwsSettings } from "../../src/core/aws.js";
import type { Clock } from "../../src/core/clock.js";
import type { Context } from "../../src/core/context.js";
import { nonInteractivePrompter, type Prompter } from "../../src/core/prompt.js";
import type { Progress, Ui } from "../../src/core/ui.js";

/** One thing a capability told the user, in order. */
export interface RecordedLine {
  kind: "info" | "success" | "warn" | "note" | "debug" | "out" | "progress" | "progress-update" | "progress-done" | "progress-fail";
  text: string;
}

/** A Ui that remembers everything instead of printing it. Colors are off so text compares plainly. */
export interface RecordingUi extends Ui {
  readonly lines: RecordedLine[];
  readonly results: unknown[];
  /** All recorded text of the given kinds (all kinds when none given), one entry per line. */
  texts(...kinds: RecordedLine["kind"][]): string[];
}

export function createRecordingUi(options: { json?: boolean; verbose?: boolean; interactive?: boolean } = {}): RecordingUi {
  const lines: RecordedLine[] = [];
  const results: unknown[] = [];
  const record = (kind: RecordedLine["kind"], text: string) => lines.push({ kind, text });
  const verbose = options.verbose ?? false;
  return {
    json: options.json ?? false,
    verbose,
    interactive: options.interactive ?? false,
    colors: pc.createColors(false),
    lines,
    results,
    texts: (...kinds) => lines.filter((line) => kinds.length === 0 || kinds.includes(line.kind)).map((line) => line.text),
    info: (text) => record("info", text),
    success: (text) => record("success", text),
    warn: (text) => record("warn", text),
    note: (text) => record("note", text),
    // Recorded even without --verbose, marked as debug, so tests can check both what is and is not shown.
    debug: (text) => record("debug", text),
    out: (text) => record("out", text),
    result: (value) => results.push(value),
    progress: (text): Progress => {
      record("progress", text);
      return {
        update: (next) => record("progress-update", next),
        done: (final) => record("progress-done", final ?? text),
        fail: (final) => record("progress-fail", final ?? text),
      };
    },
  };
}

/** A clock whose time only moves when told to, or when something sleeps on it. */
export interface FakeClock extends Clock {
  /** Every sleep requested, in ms, in order. */
  readonly sleeps: number[];
  advance(ms: number): void;
}

export function createFakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
    },
  };
}

export interface TestContextOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** AWS settings as the global flags would give them; set endpointUrl to talk to a local server. */
  aws?: AwsSettings;
  json?: boolean;
  verbose?: boolean;
  interactive?: boolean;
  yes?: boolean;
  prompt?: Prompter;
  clock?: Clock;
  /** --stage: the stage the capability acts on. */
  stage?: string;
}

export interface TestContext extends Context {
  ui: RecordingUi;
  clock: Clock;
  /** Abort it to simulate Ctrl-C. */
  controller: AbortController;
}

/** A Context for calling a capability directly, the way cli.ts would, but observable. */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const controller = new AbortController();
  const ui = createRecordingUi(options);
  return {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? {},
    ui,
    prompt: options.prompt ?? nonInteractivePrompter(),
    clock: options.clock ?? createFakeClock(),
    signal: controller.signal,
    controller,
    // As a shell with AWS_REGION=us-east-1 exported: a project's lamp.json region still wins over it.
    aws: createAwsClients(options.aws ?? { environmentRegion: { variable: "AWS_REGION", value: "us-east-1" } }),
    yes: options.yes ?? true,
    ...(options.stage === undefined ? {} : { stage: options.stage }),
  };
}
