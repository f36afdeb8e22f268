import net from "node:net";
import { RequestParser, type ParsedRequest, type RequestParserLimits } from "./request-parser.js";
import { headerBlock, httpDate, responseHead, responseHeadAround } from "./response-head.js";

/**
 * A minimal HTTP/1.1 server on node:net: keep-alive, pipelining (answered in order), chunked
 * request bodies, `Expect: 100-continue`, idle, slow-head and slow-request timeouts, and write
 * backpressure (a client that does not read its answers is not read from either). Each response —
 * status line, headers and body — leaves in one socket write. The handler answers through
 * `connection.respond`, so a request costs no closure or promise of the server's own.
 */

export type IncomingRequest = ParsedRequest;

export interface OutgoingResponse {
  statusCode: number;
  /** name, value, name, value... (latin1 byte strings); Content-Length, Date and Connection are added. */
  headers: readonly string[];
  body: Buffer;
  /** Close the connection after this response. */
  close?: boolean;
  /** A HEAD answer's Content-Length when `body` is left empty (a large file not read for it). */
  headLength?: number;
  /**
   * The same `headers` array (unchanged) comes back for other answers, as a cached file's does:
   * its head is then checked and encoded once, and reused while the second, status, length and
   * keep-alive are the same.
   */
  reusedHeaders?: boolean;
}

export interface HttpServerOptions extends RequestParserLimits {
  /** A kept-open connection with no request in progress closes after this long (node:http: 5 s). */
  keepAliveTimeoutMs: number;
  /** A request whose head and body have not all arrived by then gets a 408 (node:http: 300 s). */
  requestTimeoutMs: number;
  /** A request whose head has not all arrived by then gets a 408 (node:http's headersTimeout: 60 s). */
  headersTimeoutMs: number;
  /** Milliseconds since the epoch, for the Date header. */
  now(): number;
}

export type RequestHandler = (request: IncomingRequest, connection: HttpConnection) => void;

/**
 * Bodies up to this size are copied behind the head (one write); larger ones go out with writev,
 * uncopied: a cached file's bytes are handed to the kernel as they are, with no new buffer per
 * request for the garbage collector (a 30 KB copy per request cost more than the write).
 */
const copyBodyLimit = 4 * 1024;
/** A reused answer's body up to this size is kept behind its head, for one write per request. */
const wholeAnswerLimit = 1024 * 1024;
const continueLine = "HTTP/1.1 100 Continue\r\n\r\n";
/** Pipelined requests held per connection before it stops reading. */
const maxWaiting = 32;
/**
 * Answer bytes a connection may have queued for a client that is not reading them: past this, no
 * further pipelined request is started and the connection is not read until the queue drains.
 */
const maxQueuedBytes = 1024 * 1024;

export class HttpConnection {
  private readonly parser: RequestParser;
  private readonly waiting: IncomingRequest[] = [];
  private current: IncomingRequest | undefined;
  private closeAfterResponse = false;
  private draining = false;
  /** The client is not reading its answers fast enough (see maxQueuedBytes). */
  private writeBlocked = false;
  /** A parse error behind requests still owed an answer: sent once they have theirs. */
  private deferredError: { statusCode: number; reason: string } | undefined;
  /** When the connection last went idle, or when the request in progress started arriving. */
  lastActivity: number;

  constructor(
    readonly socket: net.Socket,
    private readonly server: HttpServer,
  ) {
    this.lastActivity = server.options.now();
    this.parser = new RequestParser(
      server.options,
      {
        request: (request) => this.received(request),
        expectContinue: () => {
          if (!socket.destroyed) socket.write(continueLine, "latin1");
        },
        error: (statusCode, reason) => this.reject(statusCode, reason),
      },
      socket.remoteAddress ?? "127.0.0.1",
    );
    socket.on("data", (chunk: Buffer) => {
      if (this.parser.idle && this.current === undefined) this.lastActivity = server.options.now();
      this.parser.push(chunk);
    });
    socket.on("error", () => socket.destroy());
    socket.on("drain", () => {
      if (!this.writeBlocked) return;
      this.writeBlocked = false;
      this.startWaiting();
    });
    socket.on("close", () => server.forget(this));
    // A client that half-closes after its request still gets the answer; then we close too.
    socket.on("end", () => {
      if (this.current === undefined && this.waiting.length === 0) socket.end();
      else this.closeAfterResponse = true;
    });
  }

  /** Answering a request (the handler's time is its own), receiving one (its head, or its body), or idle between requests. */
  get state(): "answering" | "receiving-head" | "receiving" | "idle" {
    if (this.current !== undefined) return "answering";
    if (this.parser.idle) return "idle";
    return this.parser.receivingHead ? "receiving-head" : "receiving";
  }

  /** Sends the answer to the request in progress, then starts the next pipelined one. */
  respond(request: IncomingRequest, response: OutgoingResponse): void {
    if (request !== this.current) throw new Error("An HTTP response was sent for a request that is not the one in progress.");
    const keepAlive = request.keepAlive && !response.close && !this.closeAfterResponse;
    const { statusCode, body } = response;
    const bodiless = statusCode === 204 || statusCode === 304 || statusCode < 200;
    const keepAliveSeconds = keepAlive ? this.server.keepAliveSeconds : undefined;
    const contentLength = bodiless ? undefined : request.method === "HEAD" && response.headLength !== undefined ? response.headLength : body.length;
    const sendBody = !bodiless && request.method !== "HEAD" && body.length > 0;
    const now = this.server.options.now();
    // Throws on a header that cannot be sent, leaving the request in progress for another answer.
    const reused = response.reusedHeaders ? this.server.answers.encoded(statusCode, response.headers, contentLength, keepAliveSeconds, now) : undefined;
    const head = reused ? reused.head : responseHead({ statusCode, headers: response.headers, contentLength, keepAliveSeconds, date: httpDate(now) });
    this.current = undefined;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const whole = reused && sendBody ? this.server.answers.whole(reused, body) : undefined;
    if (whole) socket.write(whole);
    else this.write(head, sendBody ? body : undefined);
    this.lastActivity = now;
    if (!keepAlive) {
      this.waiting.length = 0;
      socket.end();
      return;
    }
    if (socket.writableLength > maxQueuedBytes) {
      this.writeBlocked = true;
      socket.pause();
    }
    this.startWaiting();
  }

  /** A head and its body: one write (a small body copied behind the head), or one writev. */
  private write(head: string | Buffer, body: Buffer | undefined): void {
    const socket = this.socket;
    if (!body) {
      socket.write(head, "latin1");
    } else if (body.length <= copyBodyLimit) {
      // A latin1 string's length is its byte count.
      const out = Buffer.allocUnsafe(head.length + body.length);
      if (typeof head === "string") out.write(head, 0, "latin1");
      else head.copy(out, 0);
      body.copy(out, head.length);
      socket.write(out);
    } else {
      socket.cork();
      socket.write(head, "latin1");
      socket.write(body);
      socket.uncork();
    }
  }

  /** Closes the connection now, whatever is in progress. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Answers a request that timed out before it fully arrived. */
  timeOut(): void {
    this.reject(408, "request timeout");
  }

  private received(request: IncomingRequest): void {
    if (this.current === undefined && this.waiting.length === 0 && !this.writeBlocked) {
      this.start(request);
      return;
    }
    this.waiting.push(request);
    // A client that pipelines without reading its answers is not read from until it catches up.
    if (this.waiting.length >= maxWaiting) this.socket.pause();
  }

  /** Starts the pipelined requests in turn: a loop, not recursion, when handlers answer at once. */
  private startWaiting(): void {
    if (this.draining) return;
    this.draining = true;
    while (this.current === undefined && this.waiting.length > 0 && !this.writeBlocked) this.start(this.waiting.shift()!);
    this.draining = false;
    if (this.current === undefined && this.waiting.length === 0 && this.deferredError) {
      this.sendError(this.deferredError.statusCode, this.deferredError.reason);
      return;
    }
    if (this.socket.isPaused() && this.waiting.length < maxWaiting / 2 && !this.writeBlocked && !this.deferredError) this.socket.resume();
  }

  private start(request: IncomingRequest): void {
    // No clock read: while answering, lastActivity is not looked at (respond sets it when done).
    this.current = request;
    this.server.handler(request, this);
  }

  private reject(statusCode: number, reason: string): void {
    this.server.onClientError?.(statusCode, reason);
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    // Requests before the bad bytes still get their answers, in order; the error comes after them.
    if (this.current !== undefined || this.waiting.length > 0) {
      this.deferredError = { statusCode, reason };
      socket.pause();
      return;
    }
    this.sendError(statusCode, reason);
  }

  /** Answers with an error and closes the connection. */
  private sendError(statusCode: number, reason: string): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const body = Buffer.from(`${statusCode} ${reason}\n`, "latin1");
    const head = responseHead({ statusCode, headers: ["Content-Type", "text/plain"], contentLength: body.length, keepAliveSeconds: undefined, date: httpDate(this.server.options.now()) });
    socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
  }
}

export class HttpServer {
  private readonly server: net.Server;
  /** Keep-alive's timeout as the header says it, in seconds. */
  readonly keepAliveSeconds: number;
  /** Encoded answers whose headers array comes back (cached files). */
  readonly answers = new ReusedAnswers();
  private readonly connections = new Set<HttpConnection>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Called with what was wrong with a request that could not be parsed. */
  onClientError: ((statusCode: number, reason: string) => void) | undefined;

  constructor(
    readonly options: HttpServerOptions,
    readonly handler: RequestHandler,
  ) {
    this.keepAliveSeconds = Math.round(options.keepAliveTimeoutMs / 1000);
    // allowHalfOpen: a client that half-closes after its request still gets its answer.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      this.connections.add(new HttpConnection(socket, this));
    });
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.sweeper = setInterval(() => this.sweep(), 1000);
        this.sweeper.unref();
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops listening and closes every connection, busy or not. */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const connection of this.connections) connection.destroy();
    });
  }

  forget(connection: HttpConnection): void {
    this.connections.delete(connection);
  }

  /** Once a second (not a timer per request): idle keep-alive connections and slow requests. */
  private sweep(): void {
    const now = this.options.now();
    for (const connection of this.connections) {
      const state = connection.state;
      if (state === "idle" && now - connection.lastActivity >= this.options.keepAliveTimeoutMs) connection.socket.end();
      else if (state === "receiving-head" && now - connection.lastActivity >= this.options.headersTimeoutMs) connection.timeOut();
      else if (state === "receiving" && now - connection.lastActivity >= this.options.requestTimeoutMs) connection.timeOut();
    }
  }
}

/** One answer, encoded: reused while nothing in it changes. */
interface EncodedAnswer {
  block: string;
  statusCode: number;
  contentLength: number | undefined;
  keepAliveSeconds: number | undefined;
  second: number;
  head: Buffer;
  /** head + body in one buffer, made on the first request that sends the body. */
  whole: Buffer | undefined;
  wholeBody: Buffer | undefined;
}

/**
 * Answers whose headers array is reused (a cached file's, answered thousands of times a second
 * under load): the header block is checked once per array, and the encoded head — with the body
 * behind it, for bodies up to 1 MB — is reused until the Date's second (or the status, length or
 * keep-alive) changes. So a cached file leaves in one write of a buffer made once a second.
 */
class ReusedAnswers {
  /** Per headers array, one answer per status code (a file's 200 and its 304s alternate). */
  private readonly byHeaders = new WeakMap<readonly string[], EncodedAnswer[]>();

  encoded(statusCode: number, headers: readonly string[], contentLength: number | undefined, keepAliveSeconds: number | undefined, nowMs: number): EncodedAnswer {
    const second = Math.floor(nowMs / 1000);
    let answers = this.byHeaders.get(headers);
    if (!answers) this.byHeaders.set(headers, (answers = []));
    const index = answers.findIndex((answer) => answer.statusCode === statusCode);
    const known = index >= 0 ? answers[index] : undefined;
    if (known && known.second === second && known.contentLength === contentLength && known.keepAliveSeconds === keepAliveSeconds) return known;
    const block = known?.block ?? answers[0]?.block ?? headerBlock(headers);
    const head = Buffer.from(responseHeadAround(statusCode, block, contentLength, keepAliveSeconds, httpDate(nowMs)), "latin1");
    const answer: EncodedAnswer = { block, statusCode, contentLength, keepAliveSeconds, second, head, whole: undefined, wholeBody: undefined };
    answers[index >= 0 ? index : answers.length] = answer;
    return answer;
  }

  /** The head with `body` behind it, or undefined for a body too large to keep twice. */
  whole(answer: EncodedAnswer, body: Buffer): Buffer | undefined {
    if (answer.wholeBody === body) return answer.whole;
    if (body.length > wholeAnswerLimit) return undefined;
    answer.whole = Buffer.concat([answer.head, body]);
    answer.wholeBody = body;
    return answer.whole;
  }
}
