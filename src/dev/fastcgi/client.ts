import net from "node:net";
import { performance } from "node:perf_hooks";
import { RecordReader } from "./reader.js";
import { ProtocolStatus, RecordType, decodeEndRequestBody, encodeRequest } from "./records.js";

export interface FastCgiResponse {
  /** The CGI response: headers, a blank line, the body. */
  stdout: Buffer;
  /** What the script wrote to FastCGI stderr (PHP errors when error_log is not set). */
  stderr: Buffer;
  appStatus: number;
  protocolStatus: number;
}

export interface FastCgiRequest {
  params: ReadonlyArray<readonly [string, string]>;
  body: Buffer;
  /**
   * The receiver gets a FastCgiTimeoutError this long after the request was written to php-fpm
   * (time spent waiting for a free worker does not count). The request keeps its worker until
   * it ends or `stopAfterMs` passes; what it writes meanwhile is dropped.
   */
  timeoutMs?: number;
  /** A script still running this long after the request was written has its worker stopped (default: `timeoutMs`). */
  stopAfterMs?: number;
  /** Once stdout passes this many bytes the receiver gets a FastCgiOutputTooLargeError, and the worker is stopped: nothing more is read. */
  maxStdoutBytes?: number;
}

class FastCgiError extends Error {
  override readonly name: string = "FastCgiError";
}

export class FastCgiTimeoutError extends FastCgiError {
  override readonly name = "FastCgiTimeoutError";
}

export class FastCgiOutputTooLargeError extends FastCgiError {
  override readonly name = "FastCgiOutputTooLargeError";
}

export interface FastCgiClientOptions {
  /**
   * Where php-fpm listens: one unix socket per worker (a pool of one), each used by at most one
   * kept-open connection, so a request's worker is known and can be stopped.
   */
  socketPaths: readonly string[];
  /** Stops the worker behind a socket (a script that overran its limit); the socket is not used again until this resolves. */
  stopWorker?(socketPath: string): Promise<void>;
  /** Requests are written behind a busy worker's only while requests take less than this (ms; see aheadCandidate). */
  aheadWindowMs?: number;
  /** How many requests may wait written behind a busy worker's (see aheadCandidate). */
  aheadDepth?: number;
}

/** Whoever waits for a request's outcome: exactly one of the two is called, once. */
export interface FastCgiReceiver {
  fastCgiResponse(response: FastCgiResponse): void;
  fastCgiError(error: Error): void;
}

interface Job {
  request: FastCgiRequest;
  receiver: FastCgiReceiver;
  settled: boolean;
}

/** One worker's socket: at most one connection to it, and none while its worker is being stopped. */
interface Slot {
  socketPath: string;
  connection: Connection | undefined;
  stopping: boolean;
}

/**
 * A FastCGI client with one kept-open connection per php-fpm worker. Requests beyond them wait
 * in our own FIFO queue, and each request goes out in one socket write.
 */
export class FastCgiClient {
  private readonly idle: Connection[] = [];
  private readonly queue: Job[] = [];
  private readonly slots: Slot[];
  /** Slots with a connection. */
  private opened = 0;
  private closed = false;

  constructor(private readonly options: FastCgiClientOptions) {
    this.slots = options.socketPaths.map((socketPath) => ({ socketPath, connection: undefined, stopping: false }));
  }

  request(request: FastCgiRequest): Promise<FastCgiResponse> {
    return new Promise<FastCgiResponse>((resolve, reject) => this.send(request, { fastCgiResponse: resolve, fastCgiError: reject }));
  }

  /** `request` without a promise: the receiver hears the outcome (the dev server's hot path). */
  send(request: FastCgiRequest, receiver: FastCgiReceiver): void {
    if (this.closed) {
      receiver.fastCgiError(new FastCgiError("The FastCGI client is closed."));
      return;
    }
    this.dispatch({ request, receiver, settled: false });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Requests waiting for a free connection. */
  get queued(): number {
    return this.queue.length;
  }

  /** Closes every connection; queued requests fail. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.destroy();
    for (const job of this.queue.splice(0)) settle(job, new FastCgiError("The FastCGI client is closed."));
  }

  /**
   * Each worker is a Lambda instance: requests go round them (every worker's connection is opened
   * before one is reused, then the longest idle goes first), so consecutive requests of one browser
   * reach different instances, as they may in Lambda, and per-instance state (/tmp, file
   * sessions) shows as it will there.
   */
  private dispatch(job: Job): void {
    const slot = this.opened < this.slots.length ? this.freeSlot() : undefined;
    if (slot) {
      this.open(slot).run(job);
      return;
    }
    const connection = this.idle.shift();
    if (connection) {
      connection.run(job);
      return;
    }
    const busy = this.aheadCandidate();
    if (busy) busy.runAhead(job);
    else this.queue.push(job);
  }

  /**
   * Every worker is busy: a busy worker's connection to write the request behind, so php-fpm
   * starts it the moment the worker is free instead of after a round trip through lamp (what
   * keeps php-fpm's workers busy under load, as nginx does by leaving the queue in php-fpm's
   * listen backlog). Only behind a request that started under `aheadWindowMs` ago on a worker
   * whose requests have been that quick: a request written behind a slow one would wait for it
   * although another worker may free up first. Of those, the one that started first.
   */
  private aheadCandidate(): Connection | undefined {
    const now = performance.now();
    const aheadWindowMs = this.options.aheadWindowMs ?? defaultAheadWindowMs;
    const depth = this.options.aheadDepth ?? defaultAheadDepth;
    let best: Connection | undefined;
    let bestFreeAt = Number.POSITIVE_INFINITY;
    for (const slot of this.slots) {
      const connection = slot.connection;
      if (!connection?.canTakeAhead(depth) || connection.recentMs >= aheadWindowMs || now - connection.startedAt >= aheadWindowMs) continue;
      // Its request in progress, then those already waiting behind it, each at the worker's recent pace.
      const freeAt = connection.startedAt + (1 + connection.waitingAhead) * connection.recentMs;
      if (freeAt < bestFreeAt) {
        best = connection;
        bestFreeAt = freeAt;
      }
    }
    return best;
  }

  /** A request written behind one that failed: php-fpm never started it, so it goes first in the queue. */
  requeue(job: Job): void {
    if (this.closed) settle(job, new FastCgiError("The FastCGI client is closed."));
    else this.queue.unshift(job);
  }

  /** A connection that just began its request written ahead can take the next queued one behind it. */
  refillAhead(connection: Connection): void {
    const job = this.queue.shift();
    if (job) connection.runAhead(job);
  }

  private freeSlot(): Slot | undefined {
    for (const slot of this.slots) if (slot.connection === undefined && !slot.stopping) return slot;
    return undefined;
  }

  private open(slot: Slot): Connection {
    const connection = new Connection(slot, this);
    slot.connection = connection;
    this.opened += 1;
    return connection;
  }

  /** Called by a connection when its request is done and it can take another. */
  released(connection: Connection): void {
    if (this.closed) {
      connection.destroy();
      return;
    }
    const job = this.queue.shift();
    if (job) connection.run(job);
    else this.idle.push(connection);
  }

  /** Called by a connection once its socket is gone. */
  lost(connection: Connection): void {
    const { slot } = connection;
    if (slot.connection === connection) {
      slot.connection = undefined;
      this.opened -= 1;
    }
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    this.refill();
  }

  /**
   * A request overran: its worker is stopped, and its socket waits until that is done. The requests
   * written behind it go back to the queue only then: their bytes are in the worker's socket, and a
   * worker whose script ended just before the stop would run them too.
   */
  overran(slot: Slot, writtenBehind: Job[]): void {
    const requeue = () => {
      for (const job of writtenBehind.reverse()) this.requeue(job);
      this.refill();
    };
    if (!this.options.stopWorker) {
      requeue();
      return;
    }
    slot.stopping = true;
    void this.options.stopWorker(slot.socketPath).finally(() => {
      slot.stopping = false;
      requeue();
    });
  }

  /** Queued requests get the connections that can be opened now. */
  private refill(): void {
    if (this.closed) return;
    for (let slot = this.freeSlot(); slot && this.queue.length > 0; slot = this.freeSlot()) this.open(slot).run(this.queue.shift()!);
  }
}

function settle(job: Job, outcome: Error | FastCgiResponse): void {
  if (job.settled) return;
  job.settled = true;
  if (outcome instanceof Error) job.receiver.fastCgiError(outcome);
  else job.receiver.fastCgiResponse(outcome);
}

/** Requests go behind a busy worker's only while requests take less than this (see aheadCandidate). */
const defaultAheadWindowMs = 10;
/** Requests written behind one busy worker's, at most (see aheadCandidate). */
const defaultAheadDepth = 2;
const readBuffer = Buffer.allocUnsafe(64 * 1024);
const noBytes = Buffer.alloc(0);

class Connection {
  private readonly socket: net.Socket;
  private readonly reader = new RecordReader();
  private job: Job | undefined;
  private requestId = 0;
  /** When the request in progress began (performance.now()). */
  startedAt = 0;
  /** How long this worker's recent requests took (ms, a moving average; unknown until one ends). */
  recentMs = Number.POSITIVE_INFINITY;
  /**
   * Requests already written behind the one in progress (at most aheadDepth), sent while every worker
   * was busy: php-fpm reads the next the moment it is done, without waiting for lamp to hear of it.
   */
  private readonly ahead: { job: Job; id: number }[] = [];
  private stdout: Buffer[] = [];
  private stdoutLength = 0;
  private stderr: Buffer[] = [];
  private gone = false;
  /**
   * One timer per connection, re-armed (refresh) for each request rather than a new one set and
   * cleared per request: left armed when a request ends, it fires into nothing (`due` is unset).
   */
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  /** What the timer means for the request in progress: answer it with a timeout, or stop its worker. */
  private due: "timeout" | "overrun" | undefined;
  /** After a timeout, how long the script may still run before its worker is stopped. */
  private untilStop = 0;

  constructor(
    readonly slot: Slot,
    private readonly pool: FastCgiClient,
  ) {
    // Reads land in one shared buffer, not a fresh 64 KB allocation per read pushed through a
    // stream: `receive` copies what it keeps before the next read can overwrite it.
    const onRead = (length: number, buffer: Uint8Array): boolean => {
      this.receive(Buffer.from(buffer.subarray(0, length)));
      return true;
    };
    this.socket = net.createConnection({ path: slot.socketPath, onread: { buffer: readBuffer, callback: onRead } });
    this.socket.on("error", (error) => this.abandon(new FastCgiError(`php-fpm connection failed: ${error.message}`, { cause: error })));
    this.socket.on("close", () => {
      clearTimeout(this.timer);
      this.fail(new FastCgiError("php-fpm closed the connection before the response ended."));
      if (!this.gone) {
        this.gone = true;
        this.pool.lost(this);
      }
    });
  }

  run(job: Job): void {
    const id = this.nextId(this.requestId);
    this.socket.write(encodeRequest(id, job.request.params, job.request.body, true));
    this.begin(job, id);
  }

  canTakeAhead(depth: number): boolean {
    return this.job !== undefined && this.ahead.length < depth && !this.gone && !this.socket.destroyed;
  }

  /** Requests written behind the one in progress. */
  get waitingAhead(): number {
    return this.ahead.length;
  }

  /** Writes a request behind the one in progress (and those already behind it); its clock starts when php-fpm gets to it. */
  runAhead(job: Job): void {
    const id = this.nextId(this.ahead.length > 0 ? this.ahead[this.ahead.length - 1]!.id : this.requestId);
    this.ahead.push({ job, id });
    this.socket.write(encodeRequest(id, job.request.params, job.request.body, true));
  }

  /** Ids only need to differ between requests on one connection; they help spot a stale reply. */
  private nextId(id: number): number {
    return id >= 0xffff ? 1 : id + 1;
  }

  /** php-fpm works on `job` from now: its clock starts. */
  private begin(job: Job, id: number): void {
    this.job = job;
    this.requestId = id;
    this.startedAt = performance.now();
    this.stdout = [];
    this.stdoutLength = 0;
    this.stderr = [];
    const { timeoutMs, stopAfterMs = timeoutMs } = job.request;
    if (timeoutMs !== undefined) {
      this.due = "timeout";
      this.untilStop = stopAfterMs! - timeoutMs;
      this.arm(timeoutMs);
    } else if (stopAfterMs !== undefined) {
      this.due = "overrun";
      this.arm(stopAfterMs);
    } else {
      this.due = undefined;
    }
  }

  private arm(ms: number): void {
    if (this.timer !== undefined && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    const job = this.job;
    if (!job || this.due === undefined) return;
    if (this.due === "overrun") {
      this.overrun(job);
      return;
    }
    settle(job, new FastCgiTimeoutError(`No response from php-fpm within ${job.request.timeoutMs} ms.`));
    if (this.untilStop > 0) {
      this.due = "overrun";
      this.arm(this.untilStop);
    } else {
      this.overrun(job);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Fails the current request and drops the socket, so a late reply can never be mistaken for another's. */
  abandon(error: Error): void {
    this.fail(error);
    this.socket.destroy();
  }

  /** The script is past its limit: its worker is stopped and this connection dropped. */
  private overrun(job: Job, error?: Error): void {
    if (job !== this.job) return;
    const writtenBehind = this.ahead.splice(0).map((ahead) => ahead.job);
    this.abandon(error ?? new FastCgiTimeoutError(`No response from php-fpm within ${job.request.stopAfterMs} ms.`));
    this.pool.overran(this.slot, writtenBehind);
  }

  private receive(chunk: Buffer): void {
    let records;
    try {
      records = this.reader.push(chunk);
    } catch (error) {
      this.abandon(new FastCgiError((error as Error).message));
      return;
    }
    for (const record of records) {
      const job = this.job;
      if (record.requestId !== this.requestId || !job) continue;
      if (record.type === RecordType.stdout) {
        if (record.content.length === 0 || job.settled) continue;
        this.stdout.push(record.content);
        this.stdoutLength += record.content.length;
        const limit = job.request.maxStdoutBytes;
        if (limit !== undefined && this.stdoutLength > limit) {
          this.overrun(job, new FastCgiOutputTooLargeError(`php-fpm's response passed ${limit} bytes.`));
          return;
        }
      } else if (record.type === RecordType.stderr) {
        if (record.content.length && !job.settled) this.stderr.push(record.content);
      } else if (record.type === RecordType.endRequest) {
        this.finish(decodeEndRequestBody(record.content));
      }
    }
  }

  private finish(end: { appStatus: number; protocolStatus: number }): void {
    const job = this.job!;
    this.job = undefined;
    this.due = undefined;
    const took = performance.now() - this.startedAt;
    this.recentMs = this.recentMs === Number.POSITIVE_INFINITY ? took : 0.75 * this.recentMs + 0.25 * took;
    const outcome: Error | FastCgiResponse =
      end.protocolStatus !== ProtocolStatus.requestComplete
        ? new FastCgiError(`php-fpm refused the request (FastCGI protocol status ${end.protocolStatus}).`)
        : {
            stdout: this.stdout.length === 1 ? this.stdout[0]! : Buffer.concat(this.stdout),
            stderr: this.stderr.length === 0 ? noBytes : Buffer.concat(this.stderr),
            appStatus: end.appStatus,
            protocolStatus: end.protocolStatus,
          };
    this.stdout = [];
    this.stderr = [];
    // The next request goes to php-fpm before this one's receiver runs.
    const ahead = this.pool.isClosed ? undefined : this.ahead.shift();
    if (ahead) {
      this.begin(ahead.job, ahead.id);
      this.pool.refillAhead(this);
    } else {
      this.pool.released(this);
    }
    settle(job, outcome);
  }

  private fail(error: Error): void {
    const job = this.job;
    this.job = undefined;
    this.due = undefined;
    // php-fpm never started them: back to the front of the queue, in their order.
    for (const ahead of this.ahead.splice(0).reverse()) this.pool.requeue(ahead.job);
    if (job) settle(job, error);
  }
}
