import { CancelledError, LampError } from "./errors.js";
import type { Ui } from "./ui.js";

/**
 * Every prompt goes through here: on a terminal it asks (clack), Ctrl-C becomes a clean
 * CancelledError; without a terminal (or with --yes) it never asks and the caller's
 * default or a clear "pass --flag" error stands instead.
 */
export interface Prompter {
  text(options: { message: string; flag: string; initialValue?: string; validate?: (value: string) => string | undefined }): Promise<string>;
  select<T extends string>(options: { message: string; flag: string; options: { value: T; label?: string; hint?: string }[]; initialValue?: T }): Promise<T>;
  confirm(options: { message: string; flag: string; initialValue?: boolean }): Promise<boolean>;
  /** Asks without echoing what is typed (a secret's value). */
  password(options: { message: string; flag: string; validate?: (value: string) => string | undefined }): Promise<string>;
}

/** A prompter for non-interactive runs: it answers nothing and says which flag is missing. */
export function nonInteractivePrompter(): Prompter {
  const missing = (flag: string, message: string): never => {
    throw new LampError("usage", `${message.replace(/[?:]\s*$/, "")}: no answer without a terminal.`, `Pass ${flag}.`);
  };
  return {
    text: async ({ flag, message }) => missing(flag, message),
    select: async ({ flag, message }) => missing(flag, message),
    confirm: async ({ flag, message }) => missing(flag, message),
    password: async ({ flag, message }) => missing(flag, message),
  };
}

async function clackPrompter(): Promise<Prompter> {
  const clack = await import("@clack/prompts");
  const unwrap = async <T>(pending: Promise<T | symbol>): Promise<T> => {
    const value = await pending;
    if (clack.isCancel(value)) {
      clack.cancel("Cancelled: nothing was written.");
      throw new CancelledError("Cancelled.", true);
    }
    return value as T;
  };
  return {
    text: async ({ message, initialValue, validate }) =>
      unwrap<string>(
        clack.text({
          message,
          initialValue,
          validate: validate ? (value) => validate(value ?? "") : undefined,
        }),
      ),
    select: async ({ message, options, initialValue }) =>
      unwrap(
        clack.select({
          message,
          options: options.map((option) => ({ value: option.value, label: option.label ?? option.value, hint: option.hint })) as never,
          initialValue,
        }),
      ) as never,
    confirm: async ({ message, initialValue }) => unwrap<boolean>(clack.confirm({ message, initialValue })),
    password: async ({ message, validate }) => unwrap<string>(clack.password({ message, validate: validate ? (value) => validate(value ?? "") : undefined })),
  };
}

export async function createPrompter(ui: Ui): Promise<Prompter> {
  return ui.interactive ? clackPrompter() : nonInteractivePrompter();
}
