import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { httpRequestToEvent, type ApiGatewayV2Event, type EventOptions } from "../../src/dev/event.js";
import { eventToFastCgiRequest, phpJsonEncode } from "../../src/dev/fastcgi-params.js";

/**
 * One fixture per request shape, each checked at both steps: the HTTP request becomes the
 * API Gateway v2 event, and that event becomes the FastCGI params Bref 3's FPM runtime sends.
 * Expected values are written by hand from Bref's HttpRequestEvent and FpmHandler.
 */
interface Fixture {
  description: string;
  request: { method: string; url: string; httpVersion: string; rawHeaders: string[]; remoteAddress: string; body: string };
  options: EventOptions;
  event: ApiGatewayV2Event;
  params: [string, string][];
  body: string;
}

const directory = new URL("./fixtures/requests/", import.meta.url);
const fixtures = readdirSync(directory)
  .filter((name) => name.endsWith(".json"))
  .map((name) => [name, JSON.parse(readFileSync(new URL(name, directory), "utf8")) as Fixture] as const);

const context = {
  awsRequestId: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
  deadlineMs: 1574621738700,
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:demo-web",
  traceId: "Root=1-5dd2d26c-0123456789abcdef01234567",
};

describe.each(fixtures)("%s", (_name, fixture) => {
  it(`HTTP request -> v2 event: ${fixture.description}`, () => {
    const event = httpRequestToEvent({ ...fixture.request, body: Buffer.from(fixture.request.body) }, fixture.options);
    expect(event).toEqual(fixture.event);
  });

  it("v2 event -> FastCGI params and body, in Bref's order", () => {
    const request = eventToFastCgiRequest(fixture.event, "/var/task/public/index.php", context);
    expect(request.params).toEqual(fixture.params);
    expect(request.body.toString("utf8")).toBe(fixture.body);
  });
});

describe("event details", () => {
  const apiDomain = "k3j5h2g7f1.execute-api.eu-west-1.amazonaws.com";
  const options: EventOptions = { requestId: "id", now: 0, localPort: 8000, traceId: "t", apiId: "k3j5h2g7f1", apiDomain };
  const request = { method: "GET", httpVersion: "1.1", remoteAddress: "127.0.0.1", body: Buffer.alloc(0) };

  it("JSON and text bodies travel as text; binary and untyped ones as base64", () => {
    const json = httpRequestToEvent({ ...request, method: "POST", url: "/", rawHeaders: ["Content-Type", "application/json; charset=utf-8"], body: Buffer.from('{"a":"é"}') }, options);
    expect(json).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
    const binary = httpRequestToEvent({ ...request, method: "POST", url: "/", rawHeaders: ["Content-Type", "image/png"], body: Buffer.from([0x89, 0x50]) }, options);
    expect(binary).toMatchObject({ body: "iVA=", isBase64Encoded: true });
    const invalidText = httpRequestToEvent({ ...request, method: "POST", url: "/", rawHeaders: ["Content-Type", "text/plain"], body: Buffer.from([0xff]) }, options);
    expect(invalidText).toMatchObject({ body: "/w==", isBase64Encoded: true });
  });

  it("a client-sent X-Forwarded-For is kept, then the viewer's address (CloudFront's) and the caller's (API Gateway's) appended", () => {
    const event = httpRequestToEvent({ ...request, url: "/", rawHeaders: ["X-Forwarded-For", "203.0.113.9"] }, options);
    expect(event.headers["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1, 127.0.0.1");
    expect(event.requestContext.http.sourceIp).toBe("127.0.0.1");
  });

  it("Host is the API's domain, as behind CloudFront; the browser's host is X-Forwarded-Host, replacing a client-sent one", () => {
    const event = httpRequestToEvent({ ...request, url: "/", rawHeaders: ["Host", "real.test:8000", "X-Forwarded-Host", "spoofed.test"] }, options);
    expect(event.headers.host).toBe(apiDomain);
    expect(event.headers["x-forwarded-host"]).toBe("real.test:8000");
    expect(event.requestContext).toMatchObject({ apiId: "k3j5h2g7f1", domainName: apiDomain, domainPrefix: "k3j5h2g7f1" });
    const withoutHost = httpRequestToEvent({ ...request, httpVersion: "1.0", url: "/", rawHeaders: ["X-Forwarded-Host", "spoofed.test"] }, options);
    expect(withoutHost.headers.host).toBe(apiDomain);
    expect(withoutHost.headers["x-forwarded-host"]).toBeUndefined();
  });

  it("adds the distribution's origin headers, replacing a client's header of the same name", () => {
    const event = httpRequestToEvent(
      { ...request, url: "/", rawHeaders: ["Host", "real.test", "X-Lamp-Origin", "forged"] },
      { ...options, originHeaders: [["x-lamp-origin", "per-stack-value"]] },
    );
    expect(event.headers["x-lamp-origin"]).toBe("per-stack-value");
  });

  it("a body of \"0\" is empty to Bref (PHP's empty()), so no Content-Type/Length headers are invented", () => {
    const event = httpRequestToEvent({ ...request, method: "POST", url: "/", rawHeaders: ["Content-Type", "text/plain"], body: Buffer.from("0") }, options);
    delete event.headers["content-type"];
    const { params } = eventToFastCgiRequest(event, "/i.php", context);
    expect(params.find(([name]) => name === "HTTP_CONTENT_TYPE")).toBeUndefined();
    expect(params.find(([name]) => name === "CONTENT_LENGTH")).toEqual(["CONTENT_LENGTH", "1"]);
  });
});

describe("the Lambda context params", () => {
  const options: EventOptions = { requestId: "id", now: 1574621708700, localPort: 8000, traceId: "t", apiId: "k3j5h2g7f1", apiDomain: "k3j5h2g7f1.execute-api.us-east-1.amazonaws.com" };
  const param = (params: [string, string][], name: string) => params.find(([key]) => key === name)?.[1];

  it("are exactly PHP's json_encode of the contexts, whatever the strings hold", () => {
    const userAgents = ["curl/8.0", 'quote " backslash \\ tab \t', "Zoë 😀 — café", "nul \u0000 del \u007f", "/a//b/", ""];
    for (const userAgent of userAgents) {
      const event = httpRequestToEvent(
        { method: "get", url: "/p%C3%A4th/x?q=1", httpVersion: "1.1", rawHeaders: ["Host", "ex.test", "User-Agent", Buffer.from(userAgent).toString("latin1")], remoteAddress: "::ffff:10.0.0.1", body: Buffer.alloc(0) },
        options,
      );
      const { params } = eventToFastCgiRequest(event, "/i.php", { ...context, invokedFunctionArn: userAgent });
      expect(param(params, "LAMBDA_REQUEST_CONTEXT"), userAgent).toBe(phpJsonEncode(event.requestContext));
      expect(JSON.parse(param(params, "LAMBDA_REQUEST_CONTEXT")!).http.userAgent).toBe(userAgent);
      expect(param(params, "LAMBDA_INVOCATION_CONTEXT"), userAgent).toBe(phpJsonEncode({ ...context, invokedFunctionArn: userAgent }));
    }
  });

  it("keep fields of a request context shaped differently (an event from elsewhere)", () => {
    const event = httpRequestToEvent({ method: "GET", url: "/", httpVersion: "1.1", rawHeaders: ["Host", "ex.test"], remoteAddress: "127.0.0.1", body: Buffer.alloc(0) }, options);
    const withAuthorizer = { ...event, requestContext: { ...event.requestContext, authorizer: { jwt: { claims: { sub: "u/1" } } } } };
    const { params } = eventToFastCgiRequest(withAuthorizer, "/i.php", context);
    expect(param(params, "LAMBDA_REQUEST_CONTEXT")).toBe(phpJsonEncode(withAuthorizer.requestContext));
    expect(param(params, "LAMBDA_REQUEST_CONTEXT")).toContain('"authorizer":{"jwt":{"claims":{"sub":"u\\/1"}}}');
  });
});

describe("phpJsonEncode", () => {
  it("escapes slashes and non-ASCII as PHP's json_encode does", () => {
    expect(phpJsonEncode({ path: "/a/b", name: "Zoë 😀" })).toBe('{"path":"\\/a\\/b","name":"Zo\\u00eb \\ud83d\\ude00"}');
  });
});
