import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FastCgiClient, FastCgiOutputTooLargeError, FastCgiTimeoutError } from "../../src/dev/fastcgi/client.js";
import { RecordReader } from "../../src/dev/fastcgi/reader.js";
import { FCGI_KEEP_CONN, RecordType, decodeNameValuePairs, encodeRecord, type FastCgiRecord } from "../../src/dev/fastcgi/records.js";

/**
 * A FastCGI responder written against the specification, standing in for php-fpm so the
 * client's pooling and framing can be observed: it records every connection and request, and
 * answers when the test says so.
 */
function fakeResponder() {
  const directory = mkdtempSync(path.join(os.tmpdir(), "lamp-fcgi-test-"));
  const socketPath = path.join(directory, "fcgi.sock");
  const connections: net.Socket[] = [];
  const requests: { socket: net.Socket; requestId: number; params: Map<string, string>; body: Buffer; keepConn: boolean; chunks: number }[] = [];
  let waiting: (() => void)[] = [];
  const server = net.createServer((socket) => {
    connections.push(socket);
    const reader = new RecordReader();
    let current: { params: Buffer[]; body: Buffer[]; keepConn: boolean; chunks: number } | undefined;
    socket.on("data", (chunk: Buffer) => {
      if (current) current.chunks += 1;
      for (const record of reader.push(chunk) as FastCgiRecord[]) {
        if (record.type === RecordType.beginRequest) current = { params: [], body: [], keepConn: (record.content[2]! & FCGI_KEEP_CONN) !== 0, chunks: 1 };
        else if (record.type === RecordType.params && record.content.length) current!.params.push(record.content);
        else if (record.type === RecordType.stdin && record.content.length) current!.body.push(record.content);
        else if (record.type === RecordType.stdin) {
          requests.push({
            socket,
            requestId: record.requestId,
            params: new Map(decodeNameValuePairs(Buffer.concat(current!.params))),
            body: Buffer.concat(current!.body),
            keepConn: current!.keepConn,
            chunks: current!.chunks,
          });
          current = undefined;
          for (const wake of waiting) wake();
          waiting = [];
        }
      }
    });
  });
  const respond = (request: (typeof requests)[number], stdout: string, stderr = "") => {
    const parts = [encodeRecord(RecordType.stdout, request.requestId, Buffer.from(stdout))];
    if (stderr) parts.push(encodeRecord(RecordType.stderr, request.requestId, Buffer.from(stderr)));
    parts.push(encodeRecord(RecordType.stdout, request.requestId), encodeRecord(RecordType.endRequest, request.requestId, Buffer.alloc(8)));
    request.socket.write(Buffer.concat(parts));
  };
  const untilRequests = async (count: number) => {
    while (requests.length < count) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  return {
    socketPath,
    connections,
    requests,
    respond,
    untilRequests,
    listen: () => new Promise<void>((resolve) => server.listen(socketPath, resolve)),
    close: () => {
      for (const socket of connections) socket.destroy();
      server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

describe("FastCgiClient", () => {
  let responder: ReturnType<typeof fakeResponder>;
  let client: FastCgiClient;
  afterEach(() => {
    client?.close();
    responder?.close();
  });

  it("sends params and body, asks to keep the connection, and returns stdout and stderr as bytes", async () => {
    responder = fakeResponder();
    await responder.listen();
    client = new FastCgiClient({ socketPaths: [responder.socketPath, responder.socketPath] });
    const pending = client.request({ params: [["SCRIPT_FILENAME", "/app/index.php"], ["REQUEST_METHOD", "POST"]], body: Buffer.from([0, 255, 1]) });
    await responder.untilRequests(1);
    const [request] = responder.requests;
    expect(request!.params.get("SCRIPT_FILENAME")).toBe("/app/index.php");
    expect([...request!.body]).toEqual([0, 255, 1]);
    expect(request!.keepConn).toBe(true);
    expect(request!.chunks).toBe(1);
    responder.respond(request!, "Status: 201\r\n\r\nbody", "PHP message: warning");
    const response = await pending;
    expect(response.stdout.toString()).toBe("Status: 201\r\n\r\nbody");
    expect(response.stderr.toString()).toBe("PHP message: warning");
    expect(response.appStatus).toBe(0);
  });

  it("opens at most maxConnections, queues the rest in order, and reuses kept-open connections", async () => {
    responder = fakeResponder();
    await responder.listen();
    client = new FastCgiClient({ socketPaths: [responder.socketPath, responder.socketPath] });
    const results = Array.from({ length: 5 }, (_, index) =>
      client.request({ params: [["N", String(index)]], body: Buffer.alloc(0) }).then((response) => response.stdout.toString()),
    );
    await responder.untilRequests(2);
    expect(responder.connections.length).toBe(2);
    expect(client.queued).toBe(3);
    for (let answered = 0; answered < 5; answered++) {
      await responder.untilRequests(answered + 1);
      const request = responder.requests[answered]!;
      responder.respond(request, `reply ${request.params.get("N")}`);
    }
    expect(await Promise.all(results)).toEqual(["reply 0", "reply 1", "reply 2", "reply 3", "reply 4"]);
    expect(responder.connections.length).toBe(2);
    // Successive requests on one connection carry new request ids.
    const idsOnFirst = responder.requests.filter((request) => request.socket === responder.connections[0]).map((request) => request.requestId);
    expect(new Set(idsOnFirst).size).toBe(idsOnFirst.length);
  });

  it("a request times out counted from when it was written, not while queued; its worker is stopped before its socket is used again", async () => {
    responder = fakeResponder();
    await responder.listen();
    const stopped: string[] = [];
    let finishStopping!: () => void;
    client = new FastCgiClient({
      socketPaths: [responder.socketPath],
      stopWorker: (socketPath) => {
        stopped.push(socketPath);
        return new Promise<void>((resolve) => (finishStopping = resolve));
      },
    });
    const slow = client.request({ params: [], body: Buffer.alloc(0), timeoutMs: 100 });
    // Its limit is shorter than its wait in the queue below, and long enough to be answered on a loaded machine.
    const queued = client.request({ params: [["N", "queued"]], body: Buffer.alloc(0), timeoutMs: 300 });
    await expect(slow).rejects.toThrow("No response from php-fpm within 100 ms.");
    expect(stopped).toEqual([responder.socketPath]);
    // The queued request has not been sent, so its 300 ms have not started; its socket waits for the worker to be stopped.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(responder.requests.length).toBe(1);
    expect(client.queued).toBe(1);
    finishStopping();
    await responder.untilRequests(2);
    expect(responder.requests[1]!.socket).not.toBe(responder.requests[0]!.socket);
    responder.respond(responder.requests[1]!, "ok");
    expect((await queued).stdout.toString()).toBe("ok");
  });

  it("answers at timeoutMs but keeps the worker busy until stopAfterMs; a script that ends before that frees it normally", async () => {
    responder = fakeResponder();
    await responder.listen();
    const stopped: string[] = [];
    client = new FastCgiClient({ socketPaths: [responder.socketPath], stopWorker: async (socketPath) => void stopped.push(socketPath) });
    const late = client.request({ params: [], body: Buffer.alloc(0), timeoutMs: 30, stopAfterMs: 60_000 });
    await expect(late).rejects.toBeInstanceOf(FastCgiTimeoutError);
    const next = client.request({ params: [["N", "next"]], body: Buffer.alloc(0) });
    expect(client.queued).toBe(1);
    // On a loaded machine the 30 ms may pass before the responder has read the request.
    await responder.untilRequests(1);
    // The late script ends: its output is dropped, its connection serves the next request.
    responder.respond(responder.requests[0]!, "too late");
    await responder.untilRequests(2);
    expect(responder.requests[1]!.socket).toBe(responder.requests[0]!.socket);
    responder.respond(responder.requests[1]!, "ok");
    expect((await next).stdout.toString()).toBe("ok");
    expect(stopped).toEqual([]);
  });

  it("stops reading a response past maxStdoutBytes, fails it, and stops its worker", async () => {
    responder = fakeResponder();
    await responder.listen();
    const stopped: string[] = [];
    client = new FastCgiClient({ socketPaths: [responder.socketPath], stopWorker: async (socketPath) => void stopped.push(socketPath) });
    const big = client.request({ params: [], body: Buffer.alloc(0), maxStdoutBytes: 100_000 });
    await responder.untilRequests(1);
    const request = responder.requests[0]!;
    for (let index = 0; index < 4; index++) request.socket.write(encodeRecord(RecordType.stdout, request.requestId, Buffer.alloc(60_000, 0x61)));
    await expect(big).rejects.toBeInstanceOf(FastCgiOutputTooLargeError);
    expect(stopped).toEqual([responder.socketPath]);
  });

  it("with every worker busy on quick requests, writes the next request behind one (its clock starts when the worker gets to it); never behind a slow one; a failure sends it elsewhere", async () => {
    responder = fakeResponder();
    await responder.listen();
    const stopped: string[] = [];
    // A wider window than lamp dev's 10 ms, so that a busy test machine does not make quick requests look slow.
    client = new FastCgiClient({ socketPaths: [responder.socketPath], stopWorker: async (socketPath) => void stopped.push(socketPath), aheadWindowMs: 200 });
    const text = (pending: Promise<{ stdout: Buffer }>) => pending.then((response) => response.stdout.toString());
    // Quick requests one at a time: until one has ended nothing is known about the worker's pace, and nothing is written ahead.
    const quick = async (count: number) => {
      for (let index = 0; index < count; index++) {
        const pending = text(client.request({ params: [["N", "quick"]], body: Buffer.alloc(0) }));
        await responder.untilRequests(responder.requests.length + 1);
        responder.respond(responder.requests.at(-1)!, "quick");
        expect(await pending).toBe("quick");
      }
    };
    await quick(1);

    const running = text(client.request({ params: [["N", "1"]], body: Buffer.alloc(0), timeoutMs: 1000 }));
    const behind = text(client.request({ params: [["N", "2"]], body: Buffer.alloc(0), timeoutMs: 60 }));
    await responder.untilRequests(3);
    expect(client.queued).toBe(0);
    const [runningRequest, behindRequest] = responder.requests.slice(1);
    expect(behindRequest!.params.get("N")).toBe("2");
    expect(behindRequest!.socket).toBe(runningRequest!.socket);
    expect(behindRequest!.requestId).not.toBe(runningRequest!.requestId);
    // Longer than the request behind may take: its 60 ms start when the worker is done with the one before.
    await new Promise((resolve) => setTimeout(resolve, 100));
    responder.respond(runningRequest!, "reply 1");
    responder.respond(behindRequest!, "reply 2");
    expect([await running, await behind]).toEqual(["reply 1", "reply 2"]);

    // Behind a request that has been running a while, nothing is written: it waits in lamp's queue.
    await quick(12);
    const slow = text(client.request({ params: [["N", "3"]], body: Buffer.alloc(0) }));
    await responder.untilRequests(responder.requests.length + 1);
    const slowRequest = responder.requests.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 250));
    const waiting = text(client.request({ params: [["N", "4"]], body: Buffer.alloc(0) }));
    expect(client.queued).toBe(1);
    responder.respond(slowRequest, "reply 3");
    await responder.untilRequests(responder.requests.length + 1);
    responder.respond(responder.requests.at(-1)!, "reply 4");
    expect([await slow, await waiting]).toEqual(["reply 3", "reply 4"]);

    // The worker is stopped (its request overran): the request written behind it never ran, and goes to a new connection.
    await quick(12);
    const before = responder.requests.length;
    const doomed = client.request({ params: [["N", "5"]], body: Buffer.alloc(0), timeoutMs: 40 });
    const rescued = text(client.request({ params: [["N", "6"]], body: Buffer.alloc(0) }));
    await responder.untilRequests(before + 2);
    const [doomedRequest, aheadRequest] = responder.requests.slice(before);
    expect(aheadRequest!.params.get("N")).toBe("6");
    expect(aheadRequest!.socket).toBe(doomedRequest!.socket);
    await expect(doomed).rejects.toBeInstanceOf(FastCgiTimeoutError);
    expect(stopped).toEqual([responder.socketPath]);
    await responder.untilRequests(before + 3);
    const again = responder.requests[before + 2]!;
    expect(again.params.get("N")).toBe("6");
    expect(again.socket).not.toBe(doomedRequest!.socket);
    responder.respond(again, "reply 6");
    expect(await rescued).toBe("reply 6");
  });

  it("writes up to two requests behind a busy quick worker, answered in their order; more wait in lamp's queue; a failure sends both back, in order", async () => {
    responder = fakeResponder();
    await responder.listen();
    // A window wide enough that a loaded test machine never makes these quick requests look slow.
    client = new FastCgiClient({ socketPaths: [responder.socketPath], aheadWindowMs: 5_000, aheadDepth: 2 });
    const text = (pending: Promise<{ stdout: Buffer }>) => pending.then((response) => response.stdout.toString());
    const ask = (n: string, timeoutMs?: number) => text(client.request({ params: [["N", n]], body: Buffer.alloc(0), timeoutMs }));
    // One quick request first: the worker's pace is known from then on.
    const warm = ask("warm");
    await responder.untilRequests(1);
    responder.respond(responder.requests[0]!, "warm");
    await warm;

    const answers = [ask("1"), ask("2"), ask("3"), ask("4")];
    await responder.untilRequests(4);
    expect(responder.requests.slice(1).map((request) => request.params.get("N"))).toEqual(["1", "2", "3"]);
    expect(new Set(responder.requests.slice(1).map((request) => request.socket)).size).toBe(1);
    expect(client.queued).toBe(1);
    for (const index of [1, 2, 3]) responder.respond(responder.requests[index]!, `reply ${index}`);
    await responder.untilRequests(5);
    responder.respond(responder.requests[4]!, "reply 4");
    expect(await Promise.all(answers)).toEqual(["reply 1", "reply 2", "reply 3", "reply 4"]);

    // The connection drops while two requests wait behind the running one: php-fpm never ran them.
    const before = responder.requests.length;
    const lost = ask("5").catch((error: Error) => error.message);
    const rescued = [ask("6"), ask("7")];
    await responder.untilRequests(before + 3);
    responder.requests[before]!.socket.destroy();
    expect(await lost).toMatch(/closed the connection/);
    // On the new connection nothing is known of the worker's pace yet: one at a time, 6 first.
    await responder.untilRequests(before + 4);
    const six = responder.requests[before + 3]!;
    expect(six.params.get("N")).toBe("6");
    expect(six.socket).not.toBe(responder.requests[before]!.socket);
    responder.respond(six, "reply 6");
    await responder.untilRequests(before + 5);
    expect(responder.requests[before + 4]!.params.get("N")).toBe("7");
    responder.respond(responder.requests[before + 4]!, "reply 7");
    expect(await Promise.all(rescued)).toEqual(["reply 6", "reply 7"]);
  });

  it("a request written behind a script that overran goes to another worker only once that worker is stopped (it could still run it)", async () => {
    responder = fakeResponder();
    const other = fakeResponder();
    await responder.listen();
    await other.listen();
    let workerStopped: () => void = () => {};
    const stopping: string[] = [];
    client = new FastCgiClient({
      socketPaths: [responder.socketPath, other.socketPath],
      // Wide enough that a loaded test machine never makes these quick requests look slow.
      aheadWindowMs: 5_000,
      stopWorker: (socketPath) => {
        stopping.push(socketPath);
        return new Promise<void>((resolve) => (workerStopped = resolve));
      },
    });
    try {
      const ask = (n: string, timeoutMs?: number) => client.request({ params: [["N", n]], body: Buffer.alloc(0), timeoutMs }).then((response) => response.stdout.toString());
      const names = (fake: typeof other) => fake.requests.map((request) => request.params.get("N"));
      // Both workers' pace known, the second one's slower (its answer comes 100 ms later); the first one's
      // connection is the longest idle.
      const warm = [ask("warm 1"), ask("warm 2")];
      await responder.untilRequests(1);
      await other.untilRequests(1);
      responder.respond(responder.requests[0]!, "warm");
      await warm[0];
      await new Promise((resolve) => setTimeout(resolve, 100));
      other.respond(other.requests[0]!, "warm");
      await warm[1];

      const doomed = ask("1", 300).catch((error: Error) => error);
      const blocker = ask("blocker");
      const behind = ask("2");
      await responder.untilRequests(3);
      expect(names(responder)).toEqual(["warm 1", "1", "2"]);
      expect(await doomed).toBeInstanceOf(FastCgiTimeoutError);
      expect(stopping).toEqual([responder.socketPath]);
      // The other worker frees up while the first is being stopped: request 2 does not go to it yet.
      other.respond(other.requests[1]!, "blocker done");
      expect(await blocker).toBe("blocker done");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(names(other)).toEqual(["warm 2", "blocker"]);
      workerStopped();
      await responder.untilRequests(4);
      const again = responder.requests[3]!;
      expect(again.params.get("N")).toBe("2");
      expect(again.socket).not.toBe(responder.requests[2]!.socket);
      responder.respond(again, "reply 2");
      expect(await behind).toBe("reply 2");
    } finally {
      other.close();
    }
  });

  it("fails a request when php-fpm is not there", async () => {
    client = new FastCgiClient({ socketPaths: [path.join(os.tmpdir(), "lamp-no-such.sock")] });
    await expect(client.request({ params: [], body: Buffer.alloc(0) })).rejects.toThrow(/php-fpm connection failed/);
  });
});
