import { Readable } from "node:stream";
import { runCli } from "../../src/cli.js";

function capture() {
  let text = "";
  const stream = { isTTY: false, write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

/**
 * Runs the CLI in this process — so aws-sdk-client-mock's mocks apply — as a user without a
 * terminal would: no TTY, no colours unless `env` asks for them.
 */
export async function runCliInProcess(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string }) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli({
    argv,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    // Piped input (a secret's value) when given; otherwise nothing to read, as with `< /dev/null`.
    stdin: options.stdin === undefined ? { isTTY: false } : Object.assign(Readable.from([Buffer.from(options.stdin)]), { isTTY: false }),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
