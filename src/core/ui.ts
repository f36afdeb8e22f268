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
  /**
   * A status line around the command's data (a banner such as "Live Tail on …"): on stderr, like
   * warnings, debug lines and progress, so stdout holds only results and data.
   */
  note(message: string): void;
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

/**
 * Control characters that a terminal acts on instead of printing: C0 (ESC starts sequences that
 * clear the screen, move the cursor or retitle the window; CR overwrites the line), DEL, and C1
 * (U+009B is a one-character CSI on some terminals).
 */
const controlCharacter = /[\x00-\x1f\x7f-\x9f]/;
const controlCharacters = /[\x00-\x1f\x7f-\x9f]/g;
/** The same, less the line breaks and tabs of lamp's own multi-line output. */
const layoutControl = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
/** The SGR codes picocolors writes (bold, dim, underline, the colors lamp uses, their resets): lamp's own styling. */
const ownStyle = "\\x1b\\[(?:1|2|4|22|24|3[1-9]|90)m";
const layoutControlOrOwnStyle = new RegExp(`${ownStyle}|[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]`, "g");

function visible(character: string): string {
  if (character === "\n") return "\\n";
  if (character === "\r") return "\\r";
  if (character === "\t") return "\\t";
  return `\\x${character.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/**
 * One user-controlled value (a file name, a path, a header) made printable: every control
 * character, line breaks included, is shown as an escape (`\x1b`, `\n`) instead of acting on the
 * terminal. The Ui already neutralises what it prints; use this to keep a value on one line, or
 * for text written to a terminal without the Ui.
 */
export function escapeControlCharacters(text: string): string {
  return controlCharacter.test(text) ? text.replace(controlCharacters, visible) : text;
}

/**
 * What the Ui does to every line it prints: control characters become visible escapes, except
 * line breaks and tabs, and the exact color codes lamp itself writes (kept when colors are on,
 * dropped when not). A
 * value printed by any command therefore cannot clear the screen or forge a line with CR.
 */
export function escapeForTerminal(text: string, colors: boolean): string {
  if (!layoutControl.test(text)) return text;
  return text.replace(layoutControlOrOwnStyle, (match) => {
    if (match.length === 1) return visible(match);
    // Without colors (a pipe, NO_COLOR) a color code is dropped: nothing shows up as `\x1b[2m`.
    return colors ? match : "";
  });
}

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
  const colorsOn = colorsEnabled(human, env);
  const colors = pc.createColors(colorsOn);
  // Warnings, banners and progress are about the run, not its result: stderr, whatever the mode.
  const messageColorsOn = colorsEnabled(stderr, env);
  const messageColors = pc.createColors(messageColorsOn);
  const animate = options.interactive && Boolean(stderr.isTTY) && !env.CI;

  let activeSpinner: { clear(): void } | undefined;
  const line = (text: string) => {
    activeSpinner?.clear();
    human.write(`${escapeForTerminal(text, colorsOn)}\n`);
  };
  const message = (text: string) => {
    activeSpinner?.clear();
    stderr.write(`${escapeForTerminal(text, messageColorsOn)}\n`);
  };

  return {
    json: options.json,
    verbose: options.verbose,
    interactive: options.interactive,
    colors,
    info: (message) => line(message),
    success: (message) => line(`${colors.green("✔")} ${message}`),
    warn: (text) => message(`${messageColors.yellow("▲")} ${text}`),
    note: (text) => message(text),
    debug: (text) => {
      if (options.verbose) message(messageColors.dim(text));
    },
    out: (text) => {
      activeSpinner?.clear();
      stdout.write(`${escapeForTerminal(text, colorsOn)}\n`);
    },
    result: (value) => {
      if (options.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    progress: (text) => {
      if (!animate) {
        message(`${messageColors.dim("…")} ${text}`);
        return {
          update: () => {},
          done: (final) => message(`${messageColors.green("✔")} ${final ?? text}`),
          fail: (final) => message(`${messageColors.red("✖")} ${final ?? text}`),
        };
      }
      let shown = escapeForTerminal(text, messageColorsOn);
      let frame = 0;
      const render = () => {
        stderr.write(`\r\x1b[2K${messageColors.magenta(spinnerFrames[frame++ % spinnerFrames.length]!)} ${shown}`);
      };
      const spinner = { clear: () => stderr.write("\r\x1b[2K") };
      activeSpinner?.clear();
      activeSpinner = spinner;
      render();
      const timer = setInterval(render, 120);
      timer.unref();
      const finish = (symbol: string, final?: string) => {
        clearInterval(timer);
        if (activeSpinner === spinner) activeSpinner = undefined;
        stderr.write(`\r\x1b[2K${symbol} ${final === undefined ? shown : escapeForTerminal(final, messageColorsOn)}\n`);
      };
      return {
        update: (next) => {
          shown = escapeForTerminal(next, messageColorsOn);
          render();
        },
        done: (final) => finish(messageColors.green("✔"), final),
        fail: (final) => finish(messageColors.red("✖"), final),
      };
    },
  };
}
