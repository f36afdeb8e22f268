import { describe, expect, it } from "vitest";
import { capitalizeHeaderName, cgiToV2Response, parseCgiResponse, v2ResponsePayloadSize, v2ToHttpResponse } from "../../src/dev/response.js";

const cgi = (text: string, body: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.from(text, "latin1"), body]);

describe("CGI response -> v2 response -> HTTP response", () => {
  it("takes the status from the Status header and keeps every Set-Cookie", () => {
    const parsed = parseCgiResponse(
      cgi("Status: 404 Not Found\r\nX-Powered-By: PHP/8.2\r\nSet-Cookie: a=1\r\nContent-type: text/html; charset=UTF-8\r\nset-cookie: b=2; HttpOnly\r\n\r\n<h1>nope</h1>"),
    );
    const result = cgiToV2Response(parsed, false);
    expect(result).toEqual({
      ok: true,
      response: {
        statusCode: 404,
        headers: { "X-Powered-By": "PHP/8.2", "Content-Type": "text/html; charset=UTF-8" },
        cookies: ["a=1", "b=2; HttpOnly"],
        isBase64Encoded: false,
        body: Buffer.from("<h1>nope</h1>"),
      },
    });
    const http = v2ToHttpResponse(result.ok ? result.response : (undefined as never), "req-1");
    expect(http.statusCode).toBe(404);
    expect(http.headers).toEqual([
      ["X-Powered-By", "PHP/8.2"],
      ["Content-Type", "text/html; charset=UTF-8"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2; HttpOnly"],
      ["apigw-requestid", "req-1"],
    ]);
  });

  it("defaults to 200, joins repeated headers with a comma, drops Content-Length for the gateway to recompute", () => {
    const result = cgiToV2Response(parseCgiResponse(cgi("Vary: Accept\r\nVary: Cookie\r\nContent-Length: 99\r\n\r\nok")), false);
    if (!result.ok) throw new Error("expected ok");
    expect(result.response.statusCode).toBe(200);
    expect(result.response.headers.Vary).toBe("Accept, Cookie");
    expect(v2ToHttpResponse(result.response, "r").headers).toEqual([["Vary", "Accept, Cookie"], ["apigw-requestid", "r"]]);
  });

  it("keeps a binary body byte for byte when BREF_BINARY_RESPONSES is on", () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]);
    const result = cgiToV2Response(parseCgiResponse(cgi("Content-Type: image/png\r\n\r\n", png)), true);
    if (!result.ok) throw new Error("expected ok");
    expect(result.response.body.equals(png)).toBe(true);
    expect(result.response.isBase64Encoded).toBe(true);
  });

  it("fails a binary body without BREF_BINARY_RESPONSES, as Bref's JSON encoding does in Lambda", () => {
    expect(cgiToV2Response(parseCgiResponse(cgi("Content-Type: image/png\r\n\r\n", Buffer.from([0xff, 0xd8]))), false)).toEqual({ ok: false, reason: "binary-body" });
  });

  it("reads LF-only header blocks and responses without headers", () => {
    expect(parseCgiResponse(cgi("Status: 302\nLocation: /x\n\n"))).toEqual({ headers: [["Status", "302"], ["Location", "/x"]], body: Buffer.alloc(0) });
    expect(parseCgiResponse(cgi("just text"))).toEqual({ headers: [], body: Buffer.from("just text") });
  });

  it("capitalizes header names as Bref does", () => {
    expect(capitalizeHeaderName("content-TYPE")).toBe("Content-Type");
    expect(capitalizeHeaderName("x-amz-id-2")).toBe("X-Amz-Id-2");
  });

  it("counts the payload as Lambda's JSON: base64 grows binary bodies by a third, JSON escapes grow text", () => {
    const base = { statusCode: 200, headers: {}, cookies: [] };
    const empty = (isBase64Encoded: boolean) => v2ResponsePayloadSize({ ...base, isBase64Encoded, body: Buffer.alloc(0) });
    expect(v2ResponsePayloadSize({ ...base, isBase64Encoded: true, body: Buffer.alloc(3000) }) - empty(true)).toBe(4000);
    expect(v2ResponsePayloadSize({ ...base, isBase64Encoded: false, body: Buffer.from('"\n') }) - empty(false)).toBe(4);
  });
});
