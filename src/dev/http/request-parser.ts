/**
 * HTTP/1.1 requests (RFC 9112) cut out of a connection's byte stream. Pure: bytes in, requests
 * out, so it is tested with exact bytes. `lamp dev` parses requests itself instead of going
 * through node:http because, per request, node:http's objects and streams cost more CPU than
 * the whole FastCGI round trip — and the proxy shares two cores with php-fpm.
 *
 * What it accepts is what a browser, curl or an HTTP library sends: CRLF line ends (a bare LF
 * too, as RFC 9112 allows and node:http does), origin-form and absolute-form targets, a
 * Content-Length or chunked body (never both: that is how requests are smuggled), pipelined
 * requests. Anything else is an error with the status a server answers it with.
 */

export interface ParsedRequest {
  method: string;
  /** The request target's path and query, still percent-encoded (an absolute-form target is reduced to them). */
  url: string;
  /** "1.1" or "1.0". */
  httpVersion: string;
  /** name, value, name, value... as sent (values as latin1 byte strings, like node:http's). */
  rawHeaders: string[];
  /** The body, de-chunked; empty once it passes `maxBodyBytes`. */
  body: Buffer;
  /** True when the body reached `maxBodyBytes`: it was read to the end and dropped. */
  bodyTooLarge: boolean;
  /** Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`). */
  keepAlive: boolean;
  /** The client's address (from the connection). */
  remoteAddress: string;
}

export interface RequestParserLimits {
  /** Request line + headers, and blank lines before them, in bytes (node:http's default is 16 KB; lamp dev allows 64 KB). */
  maxHeaderBytes: number;
  /** Bodies of this many bytes or more are drained and flagged instead of kept. */
  maxBodyBytes: number;
}

export interface RequestParserEvents {
  request(request: ParsedRequest): void;
  /** `Expect: 100-continue`: the client waits for an interim 100 before sending the body. */
  expectContinue(): void;
  /** The stream cannot be parsed further; answer with this status and close. */
  error(statusCode: number, reason: string): void;
}

const enum State {
  head,
  fixedBody,
  chunkSize,
  chunkData,
  chunkDataEnd,
  trailers,
  failed,
}

const CRLF = Buffer.from("\r\n");
/** The end of a head: a line end, then an empty line (CRLF), or a bare LF twice. */
const LFCRLF = Buffer.from("\n\r\n");
const LFLF = Buffer.from("\n\n");
const emptyBody = Buffer.alloc(0);
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A request target: visible ASCII, and (for browsers that send them raw) bytes above 0x7f.
// eslint-disable-next-line no-control-regex
const invalidTarget = /[\x00-\x20\x7f]/;
// Controls other than tab, and CR or LF outside a CRLF pair.
// eslint-disable-next-line no-control-regex
const invalidHeadChar = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;
const absoluteForm = /^https?:\/\/([^/?#]*)([^#]*)/i;
const chunkSizeLine = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/;

export class RequestParser {
  private state = State.head;
  private pending: Buffer | undefined;
  private head: Omit<ParsedRequest, "body" | "bodyTooLarge" | "remoteAddress"> | undefined;
  private bodyParts: Buffer[] = [];
  private bodyLength = 0;
  private remaining = 0;
  private trailerBytes = 0;
  /** Blank lines skipped before the request now arriving: they count against the head limit. */
  private blankBytes = 0;

  constructor(
    private readonly limits: RequestParserLimits,
    private readonly events: RequestParserEvents,
    /** Stamped on each request, so that requests keep one shape from parser to handler. */
    private readonly remoteAddress: string,
  ) {}

  /** True between requests: no byte of a next request has arrived. */
  get idle(): boolean {
    return this.state === State.head && this.pending === undefined && this.blankBytes === 0;
  }

  /** True while a request's head has started arriving but is not complete. */
  get receivingHead(): boolean {
    return this.state === State.head && !this.idle;
  }

  /** Feeds received bytes; completed requests, 100-continue and errors arrive through the events. */
  push(chunk: Buffer): void {
    if (this.state === State.failed) return;
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let offset = 0;
    while (offset < data.length && (this.state as State) !== State.failed) {
      const next = this.step(data, offset);
      if (next < 0) break; // needs more bytes
      offset = next;
    }
    if (this.state === State.head && offset === data.length) return;
    if (offset < data.length && (this.state as State) !== State.failed) this.pending = data.subarray(offset);
  }

  /** Consumes from `offset`; returns the new offset, or -1 when the rest is incomplete. */
  private step(data: Buffer, offset: number): number {
    switch (this.state) {
      case State.head: {
        // Blank lines before a request are skipped (RFC 9112 section 2.2), not kept: they are
        // consumed as they come and counted against the head limit, so a flood of them costs
        // neither memory nor time.
        let start = offset;
        for (;;) {
          if (data[start] === 0x0a) start += 1;
          else if (data[start] === 0x0d && data[start + 1] === 0x0a) start += 2;
          else break;
        }
        if (start > offset) {
          this.blankBytes += start - offset;
          if (this.blankBytes > this.limits.maxHeaderBytes) return this.fail(400, "too many blank lines before the request");
          return start;
        }
        return this.readHead(data, offset);
      }
      case State.fixedBody: {
        const take = Math.min(this.remaining, data.length - offset);
        this.addBody(data, offset, offset + take);
        this.remaining -= take;
        if (this.remaining === 0) this.complete();
        return offset + take;
      }
      case State.chunkSize: {
        const end = data.indexOf(CRLF, offset);
        if (end < 0) return this.waitForLine(data, offset);
        const match = chunkSizeLine.exec(data.toString("latin1", offset, end));
        if (!match) return this.fail(400, "malformed chunk size");
        this.remaining = parseInt(match[1]!, 16);
        this.state = this.remaining === 0 ? State.trailers : State.chunkData;
        return end + 2;
      }
      case State.chunkData: {
        const take = Math.min(this.remaining, data.length - offset);
        this.addBody(data, offset, offset + take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.chunkDataEnd;
        return offset + take;
      }
      case State.chunkDataEnd:
        if (data.length - offset < 2) return -1;
        if (data[offset] !== 0x0d || data[offset + 1] !== 0x0a) return this.fail(400, "chunk data not followed by CRLF");
        this.state = State.chunkSize;
        return offset + 2;
      case State.trailers: {
        const end = data.indexOf(CRLF, offset);
        if (end < 0) return this.waitForLine(data, offset);
        if (end === offset) {
          this.complete();
          return end + 2;
        }
        // Trailer fields are allowed and ignored (API Gateway does not forward them).
        this.trailerBytes += end + 2 - offset;
        if (this.trailerBytes > this.limits.maxHeaderBytes) return this.fail(431, "trailers too large");
        return end + 2;
      }
      default:
        return -1;
    }
  }

  private waitForLine(data: Buffer, offset: number): number {
    // A chunk-size or trailer line longer than a header section is not one.
    if (data.length - offset > this.limits.maxHeaderBytes) return this.fail(400, "chunk line too long");
    return -1;
  }

  /** request line + headers → the request's head and how its body is framed (RFC 9112 sections 3, 5, 6). */
  private readHead(data: Buffer, offset: number): number {
    const found = findHead(data, offset, this.limits.maxHeaderBytes - this.blankBytes);
    if (found === undefined) return -1;
    if (isFailure(found)) return this.fail(found.status, found.reason);
    const line = parseRequestLine(found.text);
    if (isFailure(line)) return this.fail(line.status, line.reason);
    const fields = parseHeaderFields(found.text, line.headersStart);
    if (isFailure(fields)) return this.fail(fields.status, fields.reason);
    const framing = bodyFraming(fields, line);
    if (isFailure(framing)) return this.fail(framing.status, framing.reason);
    this.head = { method: line.method, url: line.url, httpVersion: line.httpVersion, rawHeaders: fields.rawHeaders, keepAlive: framing.keepAlive };
    this.bodyParts = [];
    this.bodyLength = 0;
    this.trailerBytes = 0;
    const hasBody = framing.chunked || framing.contentLength > 0;
    if (hasBody && fields.expect !== undefined) {
      if (fields.expect !== "100-continue") return this.fail(417, `Expect: ${fields.expect} is not supported`);
      this.events.expectContinue();
    }
    if (framing.chunked) {
      this.state = State.chunkSize;
    } else if (hasBody) {
      this.remaining = framing.contentLength;
      this.state = State.fixedBody;
    } else {
      this.complete();
    }
    return found.consumed;
  }

  private addBody(data: Buffer, start: number, end: number): void {
    if (start === end) return;
    this.bodyLength += end - start;
    if (this.bodyLength >= this.limits.maxBodyBytes) {
      this.bodyParts = [];
      return;
    }
    this.bodyParts.push(data.subarray(start, end));
  }

  private complete(): void {
    const head = this.head!;
    const tooLarge = this.bodyLength >= this.limits.maxBodyBytes;
    const parts = this.bodyParts;
    const body = tooLarge || parts.length === 0 ? emptyBody : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.head = undefined;
    this.bodyParts = [];
    this.blankBytes = 0;
    this.state = State.head;
    this.events.request({
      method: head.method,
      url: head.url,
      httpVersion: head.httpVersion,
      rawHeaders: head.rawHeaders,
      body,
      bodyTooLarge: tooLarge,
      keepAlive: head.keepAlive,
      remoteAddress: this.remoteAddress,
    });
  }

  private fail(statusCode: number, reason: string): number {
    this.state = State.failed;
    this.pending = undefined;
    this.events.error(statusCode, reason);
    return -1;
  }
}

/** text[start, end) without leading or trailing spaces and tabs (the only OWS in HTTP). */
function trimWhitespace(line: string, start: number, end: number): string {
  while (start < end && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  return line.slice(start, end);
}

/** Whether a comma-separated, lower-cased list (a Connection header) holds `name`. */
function hasToken(list: string, name: string): boolean {
  if (list === "") return false;
  if (list === name) return true;
  return list.split(",").some((item) => item.trim() === name);
}

/** Why a head cannot be parsed: the status a server answers with, and a reason for the log. */
interface Failure {
  status: number;
  reason: string;
}

function failure(status: number, reason: string): Failure {
  return { status, reason };
}

function isFailure(value: object): value is Failure {
  return "status" in value;
}

/**
 * The head starting at `offset`, as latin1 text with CRLF line ends, and how many bytes it took
 * with its empty line; undefined while it is incomplete. The head ends at the first empty line:
 * "\n\r\n" (CRLF ends, the usual case) or "\n\n" (bare LF ends), searched for only before the
 * first, so pipelined requests behind it are not scanned.
 */
function findHead(data: Buffer, offset: number, limit: number): { text: string; consumed: number } | Failure | undefined {
  const crlfEnd = data.indexOf(LFCRLF, offset);
  // A bare-LF end ("\n\n") counts only before the first CRLF one: looked for in the text the head
  // becomes anyway (no second scan of the bytes), or in the bytes while no CRLF end has arrived.
  let text = crlfEnd >= 0 && crlfEnd - offset <= limit ? data.toString("latin1", offset, crlfEnd) : undefined;
  const lfEnd = text !== undefined ? text.indexOf("\n\n") : data.subarray(offset, crlfEnd < 0 ? data.length : crlfEnd).indexOf(LFLF);
  const blankLine = lfEnd >= 0 ? offset + lfEnd : crlfEnd;
  if (blankLine < 0) return data.length - offset > limit ? failure(431, "request line and headers too large") : undefined;
  // (never before `offset`: a caller skips the blank lines before a request, so a head never starts with its end)
  const end = blankLine > offset && data[blankLine - 1] === 0x0d ? blankLine - 1 : blankLine;
  const consumed = blankLine + (lfEnd >= 0 ? 2 : 3);
  if (end - offset > limit) return failure(431, "request line and headers too large");
  text = text === undefined ? data.toString("latin1", offset, end) : text.slice(0, end - offset);
  // One scan for what may not appear anywhere in a head: NUL, a lone CR or LF, other controls.
  if (!invalidHeadChar.test(text)) return { text, consumed };
  // Bare LF line ends are accepted (RFC 9112 section 2.2): read as CRLF, checked again.
  const normalized = text.replace(/\r?\n/g, "\r\n");
  if (normalized === text || invalidHeadChar.test(normalized)) return failure(400, "invalid character in the request head");
  return { text: normalized, consumed };
}

interface RequestLine {
  method: string;
  /** Path and query (an absolute-form target reduced to them). */
  url: string;
  httpVersion: "1.1" | "1.0";
  /** An absolute-form target's authority, which replaces Host. */
  authority?: string;
  /** Where the header fields start in the head's text. */
  headersStart: number;
}

function parseRequestLine(text: string): RequestLine | Failure {
  const lineEnd = text.indexOf("\r\n");
  const requestLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  const firstSpace = requestLine.indexOf(" ");
  const lastSpace = requestLine.lastIndexOf(" ");
  if (firstSpace <= 0 || lastSpace === firstSpace) return failure(400, "malformed request line");
  const method = requestLine.slice(0, firstSpace);
  const target = requestLine.slice(firstSpace + 1, lastSpace);
  const version = requestLine.slice(lastSpace + 1);
  if (!token.test(method)) return failure(400, "malformed method");
  if (target === "" || invalidTarget.test(target)) return failure(400, "malformed request target");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return /^HTTP\/\d\.\d$/.test(version) ? failure(505, `${version} is not supported`) : failure(400, "malformed HTTP version");
  }
  if (method === "CONNECT") return failure(405, "CONNECT is not supported");
  const httpVersion = version === "HTTP/1.1" ? "1.1" : "1.0";
  const headersStart = lineEnd < 0 ? text.length : lineEnd + 2;
  if (target.charCodeAt(0) === 0x2f) return { method, url: target, httpVersion, headersStart };
  // absolute-form (RFC 9112 section 3.2.2): its authority replaces Host, its path and query are the target.
  const absolute = absoluteForm.exec(target);
  if (!absolute || absolute[1] === "") return failure(400, "malformed request target");
  const authority = absolute[1]!.slice(absolute[1]!.lastIndexOf("@") + 1);
  const url = absolute[2] === "" ? "/" : absolute[2]!.charCodeAt(0) === 0x3f ? `/${absolute[2]}` : absolute[2]!;
  return { method, url, httpVersion, authority, headersStart };
}

/** The header fields as sent, and the few the parser itself needs. */
interface HeaderFields {
  rawHeaders: string[];
  contentLength?: string;
  transferEncoding?: string;
  /** Connection's tokens, lower-cased and comma-joined. */
  connection: string;
  expect?: string;
  hosts: number;
}

function parseHeaderFields(text: string, start: number): HeaderFields | Failure {
  const fields: HeaderFields = { rawHeaders: [], connection: "", hosts: 0 };
  let position = start;
  while (position < text.length) {
    let next = text.indexOf("\r\n", position);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", position);
    if (colon <= position || colon > next) {
      const first = text.charCodeAt(position);
      return failure(400, first === 0x20 || first === 0x09 ? "obsolete header line folding" : "malformed header line");
    }
    const name = text.slice(position, colon);
    if (!token.test(name)) return failure(400, `malformed header name "${name}"`);
    const value = trimWhitespace(text, colon + 1, next);
    position = next + 2;
    fields.rawHeaders.push(name, value);
    if (!noteField(fields, name, value)) return failure(400, "invalid Content-Length");
  }
  return fields;
}

/** Notes a field the parser needs (switching on the length first: most names are none of these); false for a bad Content-Length. */
function noteField(fields: HeaderFields, name: string, value: string): boolean {
  switch (name.length) {
    case 4:
      if (name.toLowerCase() === "host") fields.hosts += 1;
      break;
    case 6:
      if (name.toLowerCase() === "expect") fields.expect = value.toLowerCase();
      break;
    case 10:
      if (name.toLowerCase() === "connection") fields.connection = fields.connection ? `${fields.connection},${value.toLowerCase()}` : value.toLowerCase();
      break;
    case 14:
      if (name.toLowerCase() === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (fields.contentLength !== undefined && fields.contentLength !== value)) return false;
        fields.contentLength = value;
      }
      break;
    case 17:
      if (name.toLowerCase() === "transfer-encoding") fields.transferEncoding = fields.transferEncoding ? `${fields.transferEncoding}, ${value}` : value;
      break;
  }
  return true;
}

/**
 * How the body is framed (never both Content-Length and Transfer-Encoding: that is how requests
 * are smuggled) and whether the connection stays open; also fixes up Host for an absolute-form
 * target and requires exactly one Host of HTTP/1.1.
 */
function bodyFraming(fields: HeaderFields, line: RequestLine): { chunked: boolean; contentLength: number; keepAlive: boolean } | Failure {
  let chunked = false;
  const { transferEncoding, contentLength, rawHeaders } = fields;
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) return failure(400, "both Content-Length and Transfer-Encoding");
    const codings = transferEncoding.toLowerCase().split(",").map((coding) => coding.trim());
    if (codings[codings.length - 1] !== "chunked" || codings.length > 1) return failure(501, `Transfer-Encoding ${transferEncoding} is not supported`);
    chunked = true;
  }
  if (line.authority !== undefined) {
    for (let index = rawHeaders.length - 2; index >= 0; index -= 2) if (rawHeaders[index]!.toLowerCase() === "host") rawHeaders.splice(index, 2);
    rawHeaders.push("Host", line.authority);
  } else if (line.httpVersion === "1.1" && fields.hosts !== 1) {
    return failure(400, fields.hosts === 0 ? "HTTP/1.1 request without Host" : "more than one Host header");
  }
  const keepAlive = line.httpVersion === "1.1" ? !hasToken(fields.connection, "close") : hasToken(fields.connection, "keep-alive");
  return { chunked, contentLength: contentLength === undefined ? 0 : Number(contentLength), keepAlive };
}
