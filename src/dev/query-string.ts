/**
 * The QUERY_STRING Bref's FPM runtime gives PHP for an HTTP API v2 event: it parses
 * `rawQueryString` the way crwlr/query-string does (PHP's parse_str, but keeping dots and
 * spaces in key names and turning a repeated plain key into a list), then rebuilds it with
 * http_build_query(..., PHP_QUERY_RFC3986). Strings here are byte strings (one char per byte,
 * "latin1"), because PHP's query functions work on bytes.
 */

export type PhpValue = string | PhpArray;

/** A PHP array: ordered keys, integer keys for canonical decimal strings, a next free index. */
class PhpArray {
  readonly entries = new Map<string | number, PhpValue>();
  private nextIndex = 0;

  get(key: string | number): PhpValue | undefined {
    return this.entries.get(normalizeKey(key));
  }

  set(key: string | number, value: PhpValue): void {
    const normalized = normalizeKey(key);
    if (typeof normalized === "number" && normalized >= this.nextIndex) this.nextIndex = normalized + 1;
    this.entries.set(normalized, value);
  }

  append(value: PhpValue): void {
    this.entries.set(this.nextIndex, value);
    this.nextIndex += 1;
  }

  /** Plain JavaScript form, for tests and debugging (arrays become objects to keep PHP's keys). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of this.entries) out[String(key)] = typeof value === "string" ? value : value.toJSON();
    return out;
  }
}

const canonicalInteger = /^(0|-?[1-9][0-9]{0,18})$/;

/** PHP turns "12" (but not "012", "1.0" or " 1") into the integer key 12. */
function normalizeKey(key: string | number): string | number {
  if (typeof key === "number") return key;
  if (!canonicalInteger.test(key)) return key;
  const number = Number(key);
  return Number.isSafeInteger(number) ? number : key;
}

/** PHP's urldecode on a byte string: `+` is a space, `%XX` a byte, a stray `%` stays. */
function urlDecodeBytes(text: string): string {
  if (!/[+%]/.test(text)) return text;
  return text.replace(/\+|%([0-9A-Fa-f]{2})/g, (match, hex: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : " "));
}

/** PHP's rawurlencode on a byte string: everything but A-Z a-z 0-9 - _ . ~ becomes upper-case %XX. */
export function rawUrlEncodeBytes(text: string): string {
  let out = "";
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (
      (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) ||
      code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e
    ) {
      out += text[index];
    } else {
      out += `%${code < 16 ? "0" : ""}${code.toString(16).toUpperCase()}`;
    }
  }
  return out;
}

// Stand-ins for literal dots and spaces in key names while PHP's rules run (crwlr's trick).
const DOT = "\u{E000}";
const SPACE = "\u{E001}";

/**
 * Registers one decoded `name=value` the way PHP's php_register_variable_ex does: leading
 * spaces dropped, `.` and ` ` in the base name become `_`, `a[b][]` nests, an unclosed `[`
 * becomes `_`, text after the last `]` is ignored, a NUL ends the name.
 */
function registerVariable(target: PhpArray, rawName: string, value: string): void {
  let name = rawName;
  const nul = name.indexOf("\0");
  if (nul >= 0) name = name.slice(0, nul);
  name = name.replace(/^ +/, "");
  const bracket = name.indexOf("[");
  let base = (bracket >= 0 ? name.slice(0, bracket) : name).replace(/[ .]/g, "_");
  if (base.length === 0) return;
  if (bracket < 0) {
    target.set(restore(base), value);
    return;
  }
  const indexes: (string | null)[] = [];
  let position = bracket;
  while (name[position] === "[") {
    const close = name.indexOf("]", position + 1);
    if (close < 0) {
      if (indexes.length === 0) {
        // Not an index after all: the `[` and what follows are part of the name.
        base = `${base}_${name.slice(position + 1).replace(/[ .[]/g, "_")}`;
      }
      break;
    }
    const index = name.slice(position + 1, close);
    indexes.push(index === "" ? null : index);
    position = close + 1;
  }
  if (indexes.length === 0) {
    target.set(restore(base), value);
    return;
  }
  let container = target;
  let key: string | null = restore(base);
  for (const index of indexes) {
    let next: PhpValue | undefined = key === null ? undefined : container.get(key);
    if (!(next instanceof PhpArray)) {
      next = new PhpArray();
      if (key === null) container.append(next);
      else container.set(key, next);
    }
    container = next;
    key = index === null ? null : restore(index);
  }
  if (key === null) container.append(value);
  else container.set(key, value);
}

function restore(text: string): string {
  return text.includes(DOT) || text.includes(SPACE) ? text.replaceAll(DOT, ".").replaceAll(SPACE, " ") : text;
}

/**
 * crwlr/query-string's Query::fromString(...)->toArray() on a byte string.
 */
export function parseQuery(query: string): PhpArray {
  const result = new PhpArray();
  const pairs = query.split("&").filter((pair) => pair.length > 0);
  const split = pairs.map((pair) => {
    const equals = pair.indexOf("=");
    const rawName = equals >= 0 ? pair.slice(0, equals) : pair;
    return {
      name: rawName.replace(/%5B/g, "[").replace(/%5D/g, "]"),
      value: equals >= 0 ? pair.slice(equals + 1) : "",
      hasValue: equals >= 0,
    };
  });
  // A plain key repeated (`a=1&a=2`) is read as a list (`a[]=1&a[]=2`).
  const counts = new Map<string, number>();
  for (const { name } of split) counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const pair of split) {
    let name = pair.name;
    if (pair.hasValue && !name.includes("[") && counts.get(name)! > 1) name += "[]";
    // Literal dots and spaces (`+`) before the first `[` are kept; encoded ones follow PHP's rules.
    const stop = name.indexOf("[");
    const head = (stop >= 0 ? name.slice(0, stop) : name).replace(/[.+ ]/g, (char) => (char === "." ? DOT : SPACE));
    registerVariable(result, urlDecodeBytes(head + (stop >= 0 ? name.slice(stop) : "")), urlDecodeBytes(pair.value));
  }
  return result;
}

/** PHP's http_build_query($data, '', '&', PHP_QUERY_RFC3986). Empty arrays produce nothing. */
export function buildQuery(data: PhpArray): string {
  const parts: string[] = [];
  const walk = (array: PhpArray, prefix: string | null) => {
    for (const [key, value] of array.entries) {
      const encodedKey = rawUrlEncodeBytes(String(key));
      const name = prefix === null ? encodedKey : `${prefix}%5B${encodedKey}%5D`;
      if (typeof value === "string") parts.push(`${name}=${rawUrlEncodeBytes(value)}`);
      else walk(value, name);
    }
  };
  walk(data, null);
  return parts.join("&");
}

/** The QUERY_STRING Bref builds from an event's rawQueryString (a UTF-8 string). */
export function rebuildQueryString(rawQueryString: string): string {
  if (rawQueryString === "") return "";
  const bytes = Buffer.from(rawQueryString, "utf8").toString("latin1");
  // The result is all ASCII (everything else is percent-encoded), so bytes and UTF-8 agree.
  return buildQuery(parseQuery(bytes));
}
