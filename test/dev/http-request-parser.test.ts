import { describe, expect, it } from "vitest";
import { RequestParser, type ParsedRequest } from "../../src/dev/http/request-parser.js";

/** Feeds bytes (optionally split into pieces) and records what the parser reports. */
function parse(input: string | Buffer | Array<string | Buffer>, limits = { maxHeaderBytes: 1024, maxBodyBytes: 100 }) {
  const requests: ParsedRequest[] = [];
  const errors: Array<[number, string]> = [];
  let continues = 0;
  const parser = new RequestParser(limits, {
    request: (request) => requests.push(request),
    expectContinue: () => (continues += 1),
    error: (statusCode, reason) => errors.push([statusCode, reason]),
  }, "192.0.2.7");
  for (const piece of Array.isArray(input) ? input : [input]) parser.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece, "latin1"));
  return { requests, errors, continues, idle: parser.idle };
}

describe("HTTP/1.1 request parser", () => {
  it("a GET: method, target, version, raw headers as sent, keep-alive, no body", () => {
    const { requests, errors, idle } = parse("GET /a%20b?x=1&y=%E2%82%AC HTTP/1.1\r\nHost: example.test:8000\r\nX-Two:  spaced value \t\r\nAccept: */*\r\n\r\n");
    expect(errors).toEqual([]);
    expect(requests).toEqual([
      {
        method: "GET",
        url: "/a%20b?x=1&y=%E2%82%AC",
        httpVersion: "1.1",
        rawHeaders: ["Host", "example.test:8000", "X-Two", "spaced value", "Accept", "*/*"],
        remoteAddress: "192.0.2.7",
        body: Buffer.alloc(0),
        bodyTooLarge: false,
        keepAlive: true,
      },
    ]);
    expect(idle).toBe(true);
  });

  it("header bytes above 0x7f arrive as latin1 chars, one per byte (as node:http gives them)", () => {
    const head = Buffer.concat([Buffer.from("GET / HTTP/1.1\r\nHost: h\r\nX-Name: "), Buffer.from("Zoë", "utf8"), Buffer.from("\r\n\r\n")]);
    const [request] = parse(head).requests;
    expect(request!.rawHeaders[3]).toBe(Buffer.from("Zoë", "utf8").toString("latin1"));
  });

  it("a request split at every byte parses the same as in one piece", () => {
    const text = "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
    const whole = parse(text).requests;
    const bytewise = parse([...Buffer.from(text)].map((byte) => Buffer.from([byte]))).requests;
    expect(bytewise).toEqual(whole);
    expect(whole[0]!.body.toString()).toBe("hello world");
  });

  it("binary bodies stay byte for byte", () => {
    const body = Buffer.from([0, 255, 13, 10, 13, 10, 128, 7]);
    const [request] = parse([Buffer.from(`PUT /bin HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`), body]).requests;
    expect(request!.body.equals(body)).toBe(true);
  });

  it("chunked bodies are de-chunked (extensions and trailers ignored)", () => {
    const { requests, errors } = parse([
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      "5;name=value\r\nhello\r\n",
      "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    ]);
    expect(errors).toEqual([]);
    expect(requests[0]!.body.toString()).toBe("hello world");
    expect(requests[0]!.rawHeaders).toEqual(["Host", "h", "Transfer-Encoding", "chunked"]);
  });

  it("pipelined requests in one chunk each come out, in order", () => {
    const { requests } = parse("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(requests.map((request) => [request.url, request.body.toString()])).toEqual([["/1", ""], ["/2", "hi"], ["/3", ""]]);
  });

  it("keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with Connection: keep-alive", () => {
    const keepAlive = (head: string) => parse(`${head}\r\n\r\n`).requests[0]!.keepAlive;
    expect(keepAlive("GET / HTTP/1.1\r\nHost: h")).toBe(true);
    expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close")).toBe(false);
    expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close")).toBe(false);
    expect(keepAlive("GET / HTTP/1.0")).toBe(false);
    expect(keepAlive("GET / HTTP/1.0\r\nConnection: Keep-Alive")).toBe(true);
  });

  it("Expect: 100-continue is reported before the body arrives; other expectations get 417", () => {
    const waiting = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    expect(waiting.continues).toBe(1);
    expect(waiting.requests).toEqual([]);
    expect(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: coffee\r\nContent-Length: 3\r\n\r\nabc").errors).toEqual([[417, "Expect: coffee is not supported"]]);
  });

  it("a body at the size limit is drained and flagged, and the next request still parses", () => {
    const big = "x".repeat(100);
    const { requests } = parse(`POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n${big}GET /next HTTP/1.1\r\nHost: h\r\n\r\n`);
    expect(requests.map((request) => [request.url, request.bodyTooLarge, request.body.length])).toEqual([["/big", true, 0], ["/next", false, 0]]);
  });

  it.each([
    ["GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both Content-Length and Transfer-Encoding"],
    ["GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, "invalid Content-Length"],
    ["GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length"],
    ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "Transfer-Encoding gzip is not supported"],
    ["GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 request without Host"],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header"],
    ["GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP/2.0 is not supported"],
    ["GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, "malformed HTTP version"],
    ["GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request target"],
    ["GET\r\nHost: h\r\n\r\n", 400, "malformed request line"],
    ["G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed method"],
    ["GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400, 'malformed header name "Bad Name"'],
    ["GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n  b\r\n\r\n", 400, "obsolete header line folding"],
    ["GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "malformed header line"],
    ["GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rX-B: b\r\n\r\n", 400, "invalid character in the request head"],
    ["GET /\rx HTTP/1.1\nHost: h\n\n", 400, "invalid character in the request head"],
    ["GET relative HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request target"],
    ["GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request target"],
    ["GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 400, "invalid character in the request head"],
    ["CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", 405, "CONNECT is not supported"],
    ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk size"],
    ["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", 400, "chunk data not followed by CRLF"],
  ])("rejects %j with %i", (input, statusCode, reason) => {
    const { requests, errors } = parse(input);
    expect(requests).toEqual([]);
    expect(errors).toEqual([[statusCode, reason]]);
  });

  it("a head over the limit is a 431, even before its end arrives; nothing is parsed after an error", () => {
    expect(parse(`GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"b".repeat(2000)}`).errors).toEqual([[431, "request line and headers too large"]]);
    const after = parse(["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"]);
    expect(after.errors).toHaveLength(1);
    expect(after.requests).toEqual([]);
  });

  it("blank lines between requests are tolerated; an unfinished request leaves the parser busy", () => {
    expect(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").requests).toHaveLength(1);
    expect(parse("GET / HTTP/1.1\r\nHo").idle).toBe(false);
  });

  it("blank lines before a request count against the head limit: a flood of them is a 400, not buffered", () => {
    // The limit is 1,024 bytes: 300 CRLFs (600 bytes) and a short request fit; 600 (1,200 bytes) do not.
    expect(parse(`${"\r\n".repeat(300)}GET / HTTP/1.1\r\nHost: h\r\n\r\n`).requests).toHaveLength(1);
    const flood = parse(Array.from({ length: 600 }, () => "\r\n"));
    expect(flood.errors).toEqual([[400, "too many blank lines before the request"]]);
    expect(parse("\r\n").idle).toBe(false);
  });

  it("bare LF line ends are read as CRLF (RFC 9112 section 2.2), however the bytes arrive", () => {
    const input = "POST /lf?a=1 HTTP/1.1\nHost: h\nContent-Length: 2\n\nokGET /next HTTP/1.1\r\nHost: h\n\r\n";
    for (const pieces of [[input], input.split("")]) {
      const { requests, errors } = parse(pieces);
      expect(errors).toEqual([]);
      expect(requests.map((request) => [request.method, request.url, request.rawHeaders, request.body.toString()])).toEqual([
        ["POST", "/lf?a=1", ["Host", "h", "Content-Length", "2"], "ok"],
        ["GET", "/next", ["Host", "h"], ""],
      ]);
    }
  });

  it("an absolute-form target (RFC 9112 section 3.2.2) becomes its path and query; its authority replaces Host", () => {
    const { requests, errors } = parse([
      "GET http://example.test:8080/x/y?q=1 HTTP/1.1\r\nHost: other\r\nAccept: */*\r\n\r\n",
      "GET HTTPS://user@example.test HTTP/1.1\r\n\r\n",
      "GET http://example.test?q HTTP/1.1\r\nHost: example.test\r\n\r\n",
    ]);
    expect(errors).toEqual([]);
    expect(requests.map((request) => [request.url, request.rawHeaders])).toEqual([
      ["/x/y?q=1", ["Accept", "*/*", "Host", "example.test:8080"]],
      ["/", ["Host", "example.test"]],
      ["/?q", ["Host", "example.test"]],
    ]);
  });
});
