import { describe, expect, it } from "vitest";
import { createTerminalUi, escapeControlCharacters } from "../../src/core/ui.js";

/** A stream that keeps what was written; a terminal or not, as asked. */
function captureStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    text: "",
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

// A file name that, printed raw, clears the screen, retitles the window, overwrites its own line
// and sends a one-byte CSI (C1).
const hostile = "a\x1b[2J\x1b]0;pwned\x07b\rc\x9b31md.txt";

describe("the terminal Ui escapes control characters in everything it prints", () => {
  for (const colors of [false, true]) {
    it(`info, warn, success, out, debug and progress lines (colors ${colors ? "on" : "off"})`, () => {
      const stdout = captureStream(true);
      const stderr = captureStream(true);
      const env = colors ? { FORCE_COLOR: "1" } : { NO_COLOR: "1" };
      const ui = createTerminalUi({ json: false, verbose: true, interactive: false, stdout, stderr, env });
      ui.info(`info ${hostile}`);
      ui.warn(`warn ${hostile}`);
      ui.success(`success ${ui.colors.bold(hostile)}`);
      ui.out(`GET /${hostile} ${ui.colors.green("200")}\nGET /next ${ui.colors.green("200")}`);
      ui.debug(`debug ${hostile}`);
      ui.progress(`progress ${hostile}`).done(`done ${hostile}`);

      const printed = stdout.text + stderr.text;
      expect(printed).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f](?!\[(?:1|2|22|3[1-9])m)/);
      expect(printed).not.toContain("\r");
      expect(printed).not.toContain("\x9b");
      expect(printed).not.toContain("\x1b[2J");
      expect(printed).not.toContain("\x1b]0;");
      const visible = "a\\x1b[2J\\x1b]0;pwned\\x07b\\rc\\x9b31md.txt";
      for (const label of ["info", "warn", "success", "GET", "debug", "progress", "done"]) {
        expect(printed).toContain(label);
      }
      expect(printed.split(visible).length - 1).toBe(7);
      // Lamp's own line breaks stay, and so do its own colors when colors are on.
      expect(printed).toMatch(/200(\x1b\[39m)?\nGET \/next/);
      if (colors) expect(printed).toContain("\x1b[32m200\x1b[39m");
      else expect(printed).not.toContain("\x1b");
    });
  }

  it("results and data on stdout; warnings, banners, debug lines and progress on stderr", () => {
    const stdout = captureStream(false);
    const stderr = captureStream(false);
    const ui = createTerminalUi({ json: false, verbose: true, interactive: false, stdout, stderr, env: {} });
    ui.success("Created demo");
    ui.info("Next: cd demo");
    ui.out("GET / 200");
    ui.warn("careful");
    ui.note("── Live Tail on /aws/lambda/x ──");
    ui.debug("detail");
    ui.progress("Packaging").done();
    expect(stdout.text).toBe("✔ Created demo\nNext: cd demo\nGET / 200\n");
    expect(stderr.text).toBe("▲ careful\n── Live Tail on /aws/lambda/x ──\ndetail\n… Packaging\n✔ Packaging\n");
  });

  it("escapeControlCharacters keeps one value on one line", () => {
    expect(escapeControlCharacters("a\nb\tc\x1bd")).toBe("a\\nb\\tc\\x1bd");
    expect(escapeControlCharacters("café/ünïcode ok")).toBe("café/ünïcode ok");
  });
});
