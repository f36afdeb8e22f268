import pc from "picocolors";

/**
 * The output sink. Capabilities talk to the user only through this, so tests record it
 * and `--json` can keep stdout for the machine-readable result.
 */
export interface Ui {
  /** `--json`: human lines go to stderr, `result()` prints JSON on stdout. */
  readonly json: boolean;
  readonly verbose: boolean;
  /** A person is at a terminal: prompts, spinners and progress bars are allowed. */
  readonly interactive: boolean;
  readonly colors: Colors;

  info(message: string): void;
  success(message: string): void;
  warn(message: string): void;
  /** Shown only with `--verbose`. */
  debug(message: string): void;
  /** A line of the command's own data (a log line, a table row): always on stdout. */
  out(line: string): void;
  /** A step that takes time: a spinner on a TTY, plain lines otherwise. */
  progress(message: string): Progress;
  /** The command's result: JSON on stdout with `--json`, nothing otherwise. */
  result(value: unknown): void;
}

export interface Progress {
  update(message: string): void;
  done(message?: string): void;
  fail(message?: string): void;
}

export type Colors = Pick<
  typeof pc,
  "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "cyan" | "magenta" | "gray" | "underline"
>;

export function colorsEnabled(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

export interface TerminalUiOptions {
  json: boolean;
  verbose: boolean;
  interactive: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

const spinnerFrames = ["◒", "◐", "◓", "◑"];

export function createTerminalUi(options: TerminalUiOptions): Ui {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  // Human lines share stdout with nothing when not in JSON mode.
  const human = options.json ? stderr : stdout;
  const colors = pc.createColors(colorsEnabled(human, env));
  const animate = options.interactive && Boolean(human.isTTY) && !env.CI;

  let activeSpinner: { clear(): void } | undefined;
  const line = (text: string) => {
    activeSpinner?.clear();
    human.write(`${text}\n`);
  };

  return {
    json: options.json,
    verbose: options.verbose,
    interactive: options.interactive,
    colors,
    info: (message) => line(message),
    success: (message) => line(`${colors.green("✔")} ${message}`),
    warn: (message) => line(`${colors.yellow("▲")} ${message}`),
    debug: (message) => {
      if (options.verbose) line(colors.dim(message));
    },
    out: (text) => {
      activeSpinner?.clear();
      stdout.write(`${text}\n`);
    },
    result: (value) => {
      if (options.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    progress: (message) => {
      if (!animate) {
        line(`${colors.dim("…")} ${message}`);
        return {
          update: () => {},
          done: (final) => line(`${colors.green("✔")} ${final ?? message}`),
          fail: (final) => line(`${colors.red("✖")} ${final ?? message}`),
        };
      }
      let text = message;
      let frame = 0;
      const render = () => {
        human.write(`\r\x1b[2K${colors.magenta(spinnerFrames[frame++ % spinnerFrames.length]!)} ${text}`);
      };
      const spinner = { clear: () => human.write("\r\x1b[2K") };
      activeSpinner?.clear();
      activeSpinner = spinner;
      render();
      const timer = setInterval(render, 120);
      timer.unref();
      const finish = (symbol: string, final?: string) => {
        clearInterval(timer);
        if (activeSpinner === spinner) activeSpinner = undefined;
        human.write(`\r\x1b[2K${symbol} ${final ?? text}\n`);
      };
      return {
        update: (next) => {
          text = next;
          render();
        },
        done: (final) => finish(colors.green("✔"), final),
        fail: (final) => finish(colors.red("✖"), final),
      };
    },
  };
}
