import { STATUS_CODES } from "node:http";

/**
 * The status line and headers of an HTTP/1.1 response, as one latin1 string (one char per
 * byte), so that head and body leave in one socket write. Pure.
 */

export interface ResponseHeadOptions {
  statusCode: number;
  /** name, value, name, value... (values as latin1 byte strings); a name may repeat (Set-Cookie). */
  headers: readonly string[];
  /** Sent as Content-Length unless undefined (204, 304 and 1xx responses have none). */
  contentLength: number | undefined;
  /** Keep-alive idle timeout in seconds, or undefined when the connection closes after this response. */
  keepAliveSeconds: number | undefined;
  /** An IMF-fixdate (`httpDate`), as every origin server sends. */
  date: string;
}

// eslint-disable-next-line no-control-regex
const invalidFieldChar = /[\r\n\0]/;

export function responseHead(options: ResponseHeadOptions): string {
  return responseHeadAround(options.statusCode, headerBlock(options.headers), options.contentLength, options.keepAliveSeconds, options.date);
}

/**
 * The header fields as they go out, `Name: value\r\n` each, checked: a value with a CR or LF
 * would start a header (or a body) of its own, so it throws.
 */
export function headerBlock(headers: readonly string[]): string {
  let block = "";
  for (let index = 0; index + 1 < headers.length; index += 2) {
    const name = headers[index]!;
    const value = headers[index + 1]!;
    if (invalidFieldChar.test(name) || invalidFieldChar.test(value)) throw new TypeError(`Invalid character in response header ${JSON.stringify(name)}.`);
    block += `${name}: ${value}\r\n`;
  }
  return block;
}

/** The status line, Date, a checked header block (headerBlock), Content-Length and the connection's fate. */
export function responseHeadAround(statusCode: number, block: string, contentLength: number | undefined, keepAliveSeconds: number | undefined, date: string): string {
  let head = `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? "unknown"}\r\nDate: ${date}\r\n${block}`;
  if (contentLength !== undefined) head += `Content-Length: ${contentLength}\r\n`;
  head += keepAliveSeconds === undefined ? "Connection: close\r\n\r\n" : `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  return head;
}

const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let cachedSecond = -1;
let cachedDate = "";

/** `Wed, 25 Nov 2026 16:23:05 GMT` (RFC 9110 IMF-fixdate); formatted once per second. */
export function httpDate(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    const date = new Date(second * 1000);
    const pad = (value: number) => (value < 10 ? `0${value}` : String(value));
    cachedDate = `${days[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} GMT`;
    cachedSecond = second;
  }
  return cachedDate;
}
