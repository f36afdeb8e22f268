import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpDate, responseHead } from "../../src/dev/http/response-head.js";
import { HttpServer, type HttpConnection, type IncomingRequest } from "../../src/dev/http/server.js";

describe("response head", () => {
  it("status line, Date, the headers in order (repeats kept), Content-Length and keep-alive", () => {
    const head = responseHead({
      statusCode: 201,
      headers: ["Content-Type", "text/plain", "Set-Cookie", "a=1", "Set-Cookie", "b=2"],
      contentLength: 5,
      keepAliveSeconds: 5,
      date: "Sun, 24 Nov 2019 18:55:08 GMT",
    });
    expect(head).toBe(
      "HTTP/1.1 201 Created\r\nDate: Sun, 24 Nov 2019 18:55:08 GMT\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
        "Content-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
    );
  });

  it("no Content-Length when told so, Connection: close, an unknown code's reason", () => {
    expect(responseHead({ statusCode: 299, headers: [], contentLength: undefined, keepAliveSeconds: undefined, date: "D" })).toBe(
      "HTTP/1.1 299 unknown\r\nDate: D\r\nConnection: close\r\n\r\n",
    );
  });

  it("refuses a header that would split the response", () => {
    expect(() => responseHead({ statusCode: 200, headers: ["X-A", "1\r\nX-Injected: 2"], contentLength: 0, keepAliveSeconds: 5, date: "D" })).toThrow(/Invalid character/);
  });

  it("httpDate is RFC 9110's IMF-fixdate", () => {
    expect(httpDate(Date.UTC(2019, 10, 24, 18, 55, 8, 700))).toBe("Sun, 24 Nov 2019 18:55:08 GMT");
    expect(httpDate(Date.UTC(2026, 0, 5, 3, 4, 9))).toBe("Mon, 05 Jan 2026 03:04:09 GMT");
  });
});

/** Sends raw bytes on one connection and collects everything the server sends until it closes or `until` matches. */
function exchange(port: number, chunks: Array<string | Buffer>, until?: RegExp, gapMs = 0): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on("data", (data) => {
      text += data.toString("latin1");
      if (until?.test(text)) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", reject);
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await new Promise((wait) => setTimeout(wait, gapMs));
      }
    })();
  });
}

describe("HTTP server on node:net", () => {
  let server: HttpServer;
  let port: number;
  const clientErrors: string[] = [];

  beforeAll(async () => {
    // Echoes what it parsed; /slow answers after 50 ms, to show pipelined answers stay in order.
    const handler = (request: IncomingRequest, connection: HttpConnection) => {
      const body = Buffer.from(JSON.stringify({ method: request.method, url: request.url, body: request.body.toString("latin1"), tooLarge: request.bodyTooLarge }));
      const answer = () => connection.respond(request, { statusCode: request.url === "/nocontent" ? 204 : 200, headers: ["Content-Type", "application/json"], body });
      if (request.url === "/slow") setTimeout(answer, 50);
      else if (request.url === "/bad-header") {
        expect(() => connection.respond(request, { statusCode: 200, headers: ["X", "a\nb"], body })).toThrow();
        connection.respond(request, { statusCode: 500, headers: [], body: Buffer.from("replaced") });
      } else answer();
    };
    server = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: () => Date.UTC(2019, 10, 24, 18, 55, 8) }, handler);
    server.onClientError = (statusCode, reason) => clientErrors.push(`${statusCode} ${reason}`);
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  afterAll(() => server?.close());

  it("answers with status line, Date, headers, Content-Length and the body, and keeps the connection", async () => {
    const { text, closed } = await exchange(port, ["GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n"], /\}$/);
    expect(closed).toBe(false);
    const body = '{"method":"GET","url":"/x?y=1","body":"","tooLarge":false}';
    expect(text).toBe(
      `HTTP/1.1 200 OK\r\nDate: Sun, 24 Nov 2019 18:55:08 GMT\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n${body}`,
    );
  });

  it("pipelined requests are answered in order, the slow one first", async () => {
    const { text } = await exchange(port, ["GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\n"], /\/fast.*\}$/s);
    expect(text.indexOf('"url":"/slow"')).toBeGreaterThan(0);
    expect(text.indexOf('"url":"/slow"')).toBeLessThan(text.indexOf('"url":"/fast"'));
  });

  it("thousands of pipelined requests sent at once behind a slow one are all answered, in order", async () => {
    const count = 3000;
    const requests = ["GET /slow HTTP/1.1\r\nHost: h\r\n\r\n", ...Array.from({ length: count }, (_, index) => `GET /n${index} HTTP/1.1\r\nHost: h\r\n\r\n`)].join("");
    const { text } = await exchange(port, [requests], new RegExp(`/n${count - 1}".*\\}$`, "s"));
    const urls = [...text.matchAll(/"url":"(\/[a-z]+\d*)"/g)].map((match) => match[1]);
    expect(urls).toEqual(["/slow", ...Array.from({ length: count }, (_, index) => `/n${index}`)]);
  });

  it("a body split across writes, chunked or not, arrives whole", async () => {
    const plain = await exchange(port, ["POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nhello", " you"], /\}$/, 20);
    expect(plain.text).toContain('"body":"hello you"');
    const chunked = await exchange(port, ["POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "2\r\nde\r\n0\r\n\r\n"], /\}$/, 20);
    expect(chunked.text).toContain('"body":"abcde"');
  });

  it("Expect: 100-continue gets an interim 100 before the body is sent", async () => {
    const { text } = await exchange(port, ["PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"], /100 Continue\r\n\r\n/);
    expect(text).toBe("HTTP/1.1 100 Continue\r\n\r\n");
  });

  it("HEAD and 204: no body bytes; HEAD keeps the Content-Length of the body it would get", async () => {
    const head = await exchange(port, ["HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"], /\/after.*\}$/s);
    const [headAnswer] = head.text.split("HTTP/1.1 200 OK").filter(Boolean);
    const wouldGet = '{"method":"HEAD","url":"/h","body":"","tooLarge":false}';
    expect(headAnswer).toMatch(new RegExp(`Content-Length: ${wouldGet.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n$`));
    const noContent = await exchange(port, ["GET /nocontent HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"], /\/after.*\}$/s);
    expect(noContent.text).toMatch(/^HTTP\/1\.1 204 No Content\r\nDate: [^\r]+\r\nContent-Type: application\/json\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nHTTP\/1\.1 200/);
  });

  it("Connection: close and HTTP/1.0: answered, then closed", async () => {
    const close = await exchange(port, ["GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]);
    expect(close.closed).toBe(true);
    expect(close.text).toContain("Connection: close\r\n\r\n{");
    const old = await exchange(port, ["GET /old HTTP/1.0\r\n\r\n"]);
    expect(old.closed).toBe(true);
    expect(old.text).toContain('"url":"/old"');
  });

  it("a client that half-closes after its request still gets the answer", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end("GET /half HTTP/1.1\r\nHost: h\r\n\r\n"));
      let text = "";
      socket.on("data", (data) => (text += data.toString("latin1")));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toContain('"url":"/half"');
  });

  it("a malformed request gets its status, Connection: close, and the connection closes", async () => {
    const { text, closed } = await exchange(port, ["GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"]);
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n.*Connection: close\r\n\r\n400 both Content-Length and Transfer-Encoding\n$/s);
    expect(clientErrors).toContain("400 both Content-Length and Transfer-Encoding");
    const big = await exchange(port, [`GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"b".repeat(5000)}\r\n\r\n`]);
    expect(big.text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  it("a valid request followed by garbage in the same packet keeps its answer; the error comes after it", async () => {
    const { text, closed } = await exchange(port, ["GET /first HTTP/1.1\r\nHost: h\r\n\r\nGET /slow HTTP/1.1\r\nHost: h\r\n\r\n\x00garbage\r\n\r\n"]);
    expect(closed).toBe(true);
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((answer) => answer.split("\r\n")[0])).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request"]);
    expect(answers[0]).toContain('"url":"/first"');
    expect(answers[1]).toContain('"url":"/slow"');
  });

  it("a request with bare LF line ends is answered at once", async () => {
    const { text } = await exchange(port, ["GET /lf HTTP/1.1\nHost: h\n\n"], /\}$/);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('"url":"/lf"');
  });

  it("a body over the limit reaches the handler flagged and emptied", async () => {
    const { text } = await exchange(port, [`POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1500\r\n\r\n${"z".repeat(1500)}`], /\}$/);
    expect(text).toContain('"body":"","tooLarge":true');
  });

  it("a response with a header that cannot be sent can be replaced by another answer", async () => {
    const { text } = await exchange(port, ["GET /bad-header HTTP/1.1\r\nHost: h\r\n\r\n"], /replaced$/);
    expect(text).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
  });

  it("close() ends kept-open connections", async () => {
    const other = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: Date.now }, (request, connection) =>
      connection.respond(request, { statusCode: 200, headers: [], body: Buffer.from("ok") }),
    );
    const { port: otherPort } = await other.listen(0, "127.0.0.1");
    const socket = net.connect(otherPort, "127.0.0.1");
    const closed = new Promise((resolve) => socket.on("close", resolve));
    await new Promise<void>((resolve) => socket.once("data", () => resolve()).write("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    await other.close();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it("closes a kept-open connection idle past the keep-alive timeout, and answers 408 to a request that never finishes", async () => {
    let now = 0;
    const timed = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: () => now }, (request, connection) =>
      connection.respond(request, { statusCode: 200, headers: [], body: Buffer.from("ok") }),
    );
    const { port: timedPort } = await timed.listen(0, "127.0.0.1");
    try {
      const idle = exchange(timedPort, ["GET / HTTP/1.1\r\nHost: h\r\n\r\n"]);
      const partial = exchange(timedPort, ["GET / HTTP/1.1\r\nHost: h\r\n"]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = 6_000; // the idle one goes; the unfinished one is still within its 300 s
      const idleResult = await idle;
      expect(idleResult.closed).toBe(true);
      expect(idleResult.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      now = 301_000;
      const partialResult = await partial;
      expect(partialResult.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    } finally {
      await timed.close();
    }
  });

  it("a head still incomplete after the head timeout (60 s, as node:http) gets a 408; a body may take longer", async () => {
    let now = 0;
    const timed = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: () => now }, (request, connection) =>
      connection.respond(request, { statusCode: 200, headers: [], body: Buffer.from("ok") }),
    );
    const { port: timedPort } = await timed.listen(0, "127.0.0.1");
    try {
      // Slowloris: a head that never ends. And a request whose head is done but whose body is slow.
      const slowHead = exchange(timedPort, ["GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n"]);
      const slowBody = exchange(timedPort, ["POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab"], /^HTTP/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = 61_000;
      expect((await slowHead).text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      now = 301_000;
      expect((await slowBody).text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    } finally {
      await timed.close();
    }
  });

  it("a client that pipelines requests and never reads: requests stop being started once ~1 MB of answers waits, and resume as it reads", async () => {
    let handled = 0;
    const body = Buffer.alloc(256 * 1024, 0x61);
    const greedy = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: Date.now }, (request, connection) => {
      handled += 1;
      connection.respond(request, { statusCode: 200, headers: [], body });
    });
    const { port: greedyPort } = await greedy.listen(0, "127.0.0.1");
    const socket = net.connect(greedyPort, "127.0.0.1");
    try {
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.pause();
      // 2,000 requests x 256 KB = 500 MB of answers if nothing held them back.
      socket.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n".repeat(2000));
      await new Promise((resolve) => setTimeout(resolve, 500));
      // What the kernel's socket buffers take, plus at most ~1 MB queued in the server, then nothing more.
      const stalled = handled;
      expect(stalled).toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(handled).toBe(stalled);
      // Reading resumes the answers: every request is answered.
      let received = 0;
      const expected = 2000 * body.length;
      await new Promise<void>((resolve) => {
        socket.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received >= expected) resolve();
        });
        socket.resume();
      });
      expect(handled).toBe(2000);
    } finally {
      socket.destroy();
      await greedy.close();
    }
  });
});

describe("answers whose headers array comes back (a cached file's)", () => {
  let server: HttpServer;
  let port: number;
  let nowMs = Date.UTC(2026, 11, 5, 12, 0, 0, 100);
  const fileHeaders = ["Content-Type", "text/css", "ETag", '"abc"'];
  const badHeaders = ["Content-Type", "text/css\r\nX-Injected: 1"];
  const small = Buffer.from("body{a:b}\n");
  const large = Buffer.alloc(20_000, 0x61);
  const refused: string[] = [];

  beforeAll(async () => {
    server = new HttpServer({ maxHeaderBytes: 4096, maxBodyBytes: 1000, keepAliveTimeoutMs: 5000, requestTimeoutMs: 300_000, headersTimeoutMs: 60_000, now: () => nowMs }, (request, connection) => {
      // Each request first moves the clock: /later by a second, the others by a few milliseconds.
      nowMs += request.url.startsWith("/later") ? 1000 : 3;
      if (request.url === "/bad") {
        try {
          connection.respond(request, { statusCode: 200, headers: badHeaders, body: small, reusedHeaders: true });
        } catch (error) {
          refused.push((error as Error).message);
          connection.respond(request, { statusCode: 500, headers: [], body: Buffer.from("refused") });
        }
        return;
      }
      if (request.url === "/unread") {
        // A large file's HEAD: its length given, its bytes never read.
        connection.respond(request, { statusCode: 200, headers: fileHeaders, body: Buffer.alloc(0), reusedHeaders: true, headLength: 123_456 });
        return;
      }
      const notModified = request.url.endsWith("304");
      const body = notModified ? Buffer.alloc(0) : request.url.includes("large") ? large : small;
      connection.respond(request, { statusCode: notModified ? 304 : 200, headers: fileHeaders, body, reusedHeaders: true });
    });
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  afterAll(() => server?.close());

  it("each answer has its own status, length and Date (per second), and the connection's fate", async () => {
    const { text } = await exchange(
      port,
      [["/f", "/f", "/f-304", "/later", "/large"].map((url) => `GET ${url} HTTP/1.1\r\nHost: h\r\n\r\n`).join("") + "GET /f HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"],
    );
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(6);
    const keep = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";
    const at = (second: string) => `Date: Sat, 05 Dec 2026 12:00:${second} GMT\r\nContent-Type: text/css\r\nETag: "abc"\r\n`;
    expect(answers[0]).toBe(`HTTP/1.1 200 OK\r\n${at("00")}Content-Length: 10\r\n${keep}body{a:b}\n`);
    expect(answers[1]).toBe(answers[0]);
    expect(answers[2]).toBe(`HTTP/1.1 304 Not Modified\r\n${at("00")}${keep}`);
    expect(answers[3]).toBe(`HTTP/1.1 200 OK\r\n${at("01")}Content-Length: 10\r\n${keep}body{a:b}\n`);
    expect(answers[4]).toBe(`HTTP/1.1 200 OK\r\n${at("01")}Content-Length: 20000\r\n${keep}${"a".repeat(20_000)}`);
    expect(answers[5]).toBe(`HTTP/1.1 200 OK\r\n${at("01")}Content-Length: 10\r\nConnection: close\r\n\r\nbody{a:b}\n`);
  });

  it("a HEAD answered without its body's bytes says the body's length", async () => {
    const { text } = await exchange(port, ["HEAD /unread HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 123456\r\nConnection: close\r\n\r\n$/);
  });

  it("a header value that would split the response is refused, as in any other answer", async () => {
    const { text } = await exchange(port, ["GET /bad HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]);
    expect(text).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(text).not.toContain("X-Injected");
    expect(refused).toEqual([expect.stringMatching(/Invalid character in response header "Content-Type"/)]);
  });
});
