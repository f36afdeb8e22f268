/**
 * Command lines of lamp.json (`release`, `schedule[].run`) as argument lists, and argument lists as
 * the payload of Bref's console runtime. Pure.
 */

/**
 * Splits `artisan migrate --force` or `scripts/x.php 'a b' "c d"` into arguments, as a shell would
 * split words (single quotes literal, double quotes with \" and \\, a backslash outside quotes
 * escapes the next character) — and nothing else: no variables, globs or operators are interpreted.
 * Throws a plain Error on an unclosed quote (the caller names the entry).
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === "\\" && (text[index + 1] === '"' || text[index + 1] === "\\")) word += text[++index];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\" && index + 1 < text.length) {
      word += text[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`an unclosed ${quote === "'" ? "single" : "double"} quote`);
  if (inWord) words.push(word);
  return words;
}

/** One argument for a POSIX shell: single-quoted, so `$`, `;`, backticks and globs stay text. */
function shellQuote(argument: string): string {
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** Where the console function's handler lives in the project (its Handler). */
export const consoleHandler = "lamp/console.php";

/**
 * The event the console function receives: a JSON string that Bref's console runtime appends to
 * `php lamp/console.php` in a shell command line. Each argument is quoted for that shell, so each
 * arrives in PHP as one $argv entry and nothing in it is ever run. `marker` names a `lamp run
 * --remote` invocation in the log (see templates/console/console.php).
 */
export function consolePayload(args: readonly string[], marker?: string): string {
  const words = marker ? [`--lamp-run=${marker}`, ...args] : [...args];
  return JSON.stringify(words.map(shellQuote).join(" "));
}
