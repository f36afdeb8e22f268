import net from "node:net";
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
   * Gives up after this long, queue time included, and closes the request's connection
   * (php-fpm cannot cancel a running script; its request_terminate_timeout ends it).
   */
  timeoutMs?: number;
}

export class FastCgiError extends Error {
  override readonly name: string = "FastCgiError";
}

export class FastCgiTimeoutError extends FastCgiError {
  override readonly name = "FastCgiTimeoutError";
}

export interface FastCgiClientOptions {
  /** Where php-fpm listens: a unix socket path. */
  socketPath: string;
  /**
   * Kept-open connections. Use php-fpm's worker count: each worker serves one connection at a
   * time, so more connections than workers only wait in php-fpm's listen queue.
   */
  maxConnections: number;
}

/** Whoever waits for a request's outcome: exactly one of the two is called, once. */
export interface FastCgiReceiver {
  fastCgiResponse(response: FastCgiResponse): void;
  fastCgiError(error: Error): void;
}

interface Job {
  request: FastCgiRequest;
  receiver: FastCgiReceiver;
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;
  settled: boolean;
}

/**
 * A FastCGI client with a fixed pool of kept-open connections. Requests beyond the pool wait in
 * our own FIFO queue, and each request goes out in one socket write.
 */
export class FastCgiClient {
  private readonly idle: Connection[] = [];
  private readonly queue: Job[] = [];
  private open = 0;
  private closed = false;

  constructor(private readonly options: FastCgiClientOptions) {}

  request(request: FastCgiRequest): Promise<FastCgiResponse> {
    return new Promise<FastCgiResponse>((resolve, reject) => this.send(request, { fastCgiResponse: resolve, fastCgiError: reject }));
  }

  /** `request` without a promise: the receiver hears the outcome (the dev server's hot path). */
  send(request: FastCgiRequest, receiver: FastCgiReceiver): void {
    if (this.closed) {
      receiver.fastCgiError(new FastCgiError("The FastCGI client is closed."));
      return;
    }
    const job: Job = { request, receiver, timer: undefined, connection: undefined, settled: false };
    if (request.timeoutMs !== undefined) {
      job.timer = setTimeout(() => this.timeOut(job), request.timeoutMs);
    }
    this.dispatch(job);
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

  private dispatch(job: Job): void {
    const connection = this.idle.pop();
    if (connection) {
      connection.run(job);
    } else if (this.open < this.options.maxConnections) {
      this.open += 1;
      new Connection(this.options.socketPath, this).run(job);
    } else {
      this.queue.push(job);
    }
  }

  private timeOut(job: Job): void {
    if (job.settled) return;
    const error = new FastCgiTimeoutError(`No response from php-fpm within ${job.request.timeoutMs} ms.`);
    if (job.connection) {
      job.connection.abandon(error);
    } else {
      const index = this.queue.indexOf(job);
      if (index >= 0) this.queue.splice(index, 1);
      settle(job, error);
    }
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
    this.open -= 1;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    // A queued request needs a connection: open a replacement.
    const job = this.queue.shift();
    if (job && !this.closed) {
      this.open += 1;
      new Connection(this.options.socketPath, this).run(job);
    }
  }
}

function settle(job: Job, outcome: Error | FastCgiResponse): void {
  if (job.settled) return;
  job.settled = true;
  if (job.timer) clearTimeout(job.timer);
  if (outcome instanceof Error) job.receiver.fastCgiError(outcome);
  else job.receiver.fastCgiResponse(outcome);
}

const readBuffer = Buffer.allocUnsafe(64 * 1024);
const noBytes = Buffer.alloc(0);

class Connection {
  private readonly socket: net.Socket;
  private readonly reader = new RecordReader();
  private job: Job | undefined;
  private requestId = 0;
  private stdout: Buffer[] = [];
  private stderr: Buffer[] = [];
  private gone = false;

  constructor(socketPath: string, private readonly pool: FastCgiClient) {
    // Reads land in one shared buffer, not a fresh 64 KB allocation per read pushed through a
    // stream: `receive` copies what it keeps before the next read can overwrite it.
    const onRead = (length: number, buffer: Uint8Array): boolean => {
      this.receive(Buffer.from(buffer.subarray(0, length)));
      return true;
    };
    this.socket = net.createConnection({ path: socketPath, onread: { buffer: readBuffer, callback: onRead } });
    this.socket.on("error", (error) => this.abandon(new FastCgiError(`php-fpm connection failed: ${error.message}`, { cause: error })));
    this.socket.on("close", () => {
      this.fail(new FastCgiError("php-fpm closed the connection before the response ended."));
      if (!this.gone) {
        this.gone = true;
        this.pool.lost(this);
      }
    });
  }

  run(job: Job): void {
    this.job = job;
    job.connection = this;
    this.stdout = [];
    this.stderr = [];
    // Ids only need to differ between requests on one connection; they help spot a stale reply.
    this.requestId = this.requestId >= 0xffff ? 1 : this.requestId + 1;
    this.socket.write(encodeRequest(this.requestId, job.request.params, job.request.body, true));
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Fails the current request and drops the socket, so a late reply can never be mistaken for another's. */
  abandon(error: Error): void {
    this.fail(error);
    this.socket.destroy();
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
      if (record.requestId !== this.requestId || !this.job) continue;
      if (record.type === RecordType.stdout) {
        if (record.content.length) this.stdout.push(record.content);
      } else if (record.type === RecordType.stderr) {
        if (record.content.length) this.stderr.push(record.content);
      } else if (record.type === RecordType.endRequest) {
        this.finish(decodeEndRequestBody(record.content));
      }
    }
  }

  private finish(end: { appStatus: number; protocolStatus: number }): void {
    const job = this.job!;
    this.job = undefined;
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
    // The next queued request goes to php-fpm before this one's receiver runs.
    this.pool.released(this);
    settle(job, outcome);
  }

  private fail(error: Error): void {
    const job = this.job;
    this.job = undefined;
    if (job) settle(job, error);
  }
}
