import { createHash } from "node:crypto";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { childPids, copyFixtureApp, isRunning, phpFpmForTests, rawRequest, workerPids } from "./helpers.js";

const phpFpm = phpFpmForTests();

/** What the fixture's /dump page reports, as PHP sees it. */
interface Dump {
  server: Record<string, string>;
  get: Record<string, unknown>;
  post: Record<string, unknown>;
  cookie: Record<string, string>;
  files: Record<string, { name: string; type: string; size: number; error: number; md5: string | null }>;
  input: string;
  getenv: string | false;
  env: string | null;
}

/** The fixture's /image body: a PNG signature, then every byte value twice. */
function expectedImage(): Buffer {
  const bytes = Buffer.alloc(512);
  for (let index = 0; index < 512; index++) bytes[index] = index % 256;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), bytes]);
}

describe.skipIf(!phpFpm)("lamp dev against a real php-fpm", () => {
  let app: ReturnType<typeof copyFixtureApp>;
  let ctx: TestContext;
  let server: DevServer;
  let base: string;
  // Request lines are written in batches: one recorded text may hold several lines.
  const out = () => ctx.ui.texts("out").flatMap((text) => text.split("\n"));
  const warnings = () => ctx.ui.texts("warn");

  beforeAll(async () => {
    app = copyFixtureApp();
    // Symlinks that lead out of the assets folder must never be followed.
    symlinkSync(path.join(app.root, "lamp.json"), path.join(app.root, "assets", "escape.json"));
    symlinkSync("/etc/passwd", path.join(app.root, "assets", "passwd"));
    symlinkSync(path.join(app.root, "assets", "readme.txt"), path.join(app.root, "assets", "inside-link.txt"));
    ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
    const project = await loadProject(app.root);
    server = await startDevServer({ project, port: 0, host: "127.0.0.1", workers: 2, phpFpm, timeoutMs: 1500 }, ctx, uiDevLog(ctx));
    base = server.url;
  });

  afterAll(async () => {
    await server?.close();
    app?.remove();
  });

  const dump = async (pathAndQuery: string, init?: RequestInit): Promise<Dump> => {
    const response = await fetch(`${base}${pathAndQuery}`, init);
    expect(response.status).toBe(200);
    return (await response.json()) as Dump;
  };

  it("GET with a query string: $_GET, QUERY_STRING and $_SERVER as Bref's FPM runtime builds them", async () => {
    const data = await dump("/dump?a.b=1&arr[]=x&arr[]=y&arr[k]=z&plain=1&plain=2&sp=a+b&u=%e2%82%ac");
    const expectedQuery = "a.b=1&arr%5B0%5D=x&arr%5B1%5D=y&arr%5Bk%5D=z&plain%5B0%5D=1&plain%5B1%5D=2&sp=a%20b&u=%E2%82%AC";
    expect(data.server.QUERY_STRING).toBe(expectedQuery);
    expect(data.server.REQUEST_URI).toBe(`/dump?${expectedQuery}`);
    // PHP itself still turns the dot into an underscore when it fills $_GET.
    expect(data.get).toEqual({ a_b: "1", arr: { 0: "x", 1: "y", k: "z" }, plain: ["1", "2"], sp: "a b", u: "€" });
    expect(data.server.PATH_INFO).toBe("/dump");
    expect(data.server.PHP_SELF).toBe("/dump");
    expect(data.server.SCRIPT_FILENAME).toBe(path.join(app.root, "public/index.php"));
    for (const absent of ["SCRIPT_NAME", "DOCUMENT_ROOT", "HTTPS", "REQUEST_SCHEME"]) expect(data.server).not.toHaveProperty(absent);
    expect(data.server.SERVER_SOFTWARE).toBe("bref");
    expect(data.server.GATEWAY_INTERFACE).toBe("FastCGI/1.0");
    expect(data.server.REMOTE_ADDR).toBe("127.0.0.1");
    expect(data.server.SERVER_PORT).toBe(String(server.port));
    expect(data.server.CONTENT_LENGTH).toBe("0");
    expect(data.server.CONTENT_TYPE).toBe("application/x-www-form-urlencoded");
    // The Host the browser sent reaches PHP as X-Forwarded-Host, as the CloudFront function forwards it.
    expect(data.server.HTTP_X_FORWARDED_HOST).toBe(`127.0.0.1:${server.port}`);
    // The viewer's address appended by CloudFront, then the caller's by API Gateway (both the browser here).
    expect(data.server.HTTP_X_FORWARDED_FOR).toBe("127.0.0.1, 127.0.0.1");
    // Behind CloudFront, API Gateway gets its own domain as Host; without the runtime layer, PHP sees that.
    expect(data.server.HTTP_HOST).toMatch(/^[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com$/);
    expect(data.server.SERVER_NAME).toBe(data.server.HTTP_HOST);
    // The variables Lambda sets.
    expect(data.server).toMatchObject({ LAMBDA_TASK_ROOT: app.root, AWS_REGION: "eu-west-1", AWS_LAMBDA_FUNCTION_NAME: "fixture-app-web" });
    const requestContext = JSON.parse(data.server.LAMBDA_REQUEST_CONTEXT!) as { http: { method: string; path: string }; stage: string };
    expect(requestContext.http).toMatchObject({ method: "GET", path: "/dump" });
    expect(requestContext.stage).toBe("$default");
    expect(JSON.parse(data.server.LAMBDA_INVOCATION_CONTEXT!)).toHaveProperty("awsRequestId");
    // lamp.json `environment` reaches PHP, in getenv() and (variables_order EGPCS, as Bref sets it) $_ENV.
    expect(data.getenv).toBe("hello from lamp.json");
    expect(data.env).toBe("hello from lamp.json");
    await expect.poll(out).toContainEqual(expect.stringMatching(/^GET \/dump 200 \d+ms$/));
  });

  it("POST form: $_POST, CONTENT_TYPE and CONTENT_LENGTH", async () => {
    const body = "name=Ann+Lee&tags%5B%5D=a&tags%5B%5D=b";
    const data = await dump("/dump", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
    expect(data.post).toEqual({ name: "Ann Lee", tags: ["a", "b"] });
    expect(data.server.REQUEST_METHOD).toBe("POST");
    expect(data.server.CONTENT_TYPE).toBe("application/x-www-form-urlencoded");
    expect(data.server.CONTENT_LENGTH).toBe(String(body.length));
  });

  it("multipart upload: the file reaches $_FILES byte for byte", async () => {
    const bytes = Buffer.alloc(100_000);
    for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 31 + 7) % 256;
    const form = new FormData();
    form.append("caption", "holiday ☀");
    form.append("photo", new Blob([bytes], { type: "image/jpeg" }), "photo.jpg");
    const data = await dump("/dump", { method: "POST", body: form });
    expect(data.post).toEqual({ caption: "holiday ☀" });
    expect(data.files.photo).toEqual({
      name: "photo.jpg",
      type: "image/jpeg",
      size: bytes.length,
      error: 0,
      md5: createHash("md5").update(bytes).digest("hex"),
    });
    expect(data.server.CONTENT_TYPE).toMatch(/^multipart\/form-data; boundary=/);
  });

  it("JSON body: php://input is the exact body", async () => {
    const body = JSON.stringify({ list: [1, 2, 3], text: "naïve — ok" });
    const data = await dump("/dump", { method: "PUT", headers: { "Content-Type": "application/json" }, body });
    expect(data.input).toBe(body);
    expect(data.server.CONTENT_TYPE).toBe("application/json");
    expect(data.server.CONTENT_LENGTH).toBe(String(Buffer.byteLength(body)));
    expect(data.post).toEqual([]);
  });

  it("cookies in, and several Set-Cookie headers out", async () => {
    const data = await dump("/dump", { headers: { Cookie: "theme=dark; note=hello%20world" } });
    expect(data.cookie).toEqual({ theme: "dark", note: "hello world" });
    expect(data.server.HTTP_COOKIE).toBe("theme=dark; note=hello%20world");

    const response = await fetch(`${base}/cookies`);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([
      "first=one",
      "second=two%3B%20with%3Dsemicolon; path=/; HttpOnly",
      "third=three; SameSite=Lax",
    ]);
  });

  it("redirect with Location", async () => {
    const response = await fetch(`${base}/redirect`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/target?from=redirect");
  });

  it("custom status codes, with repeated headers joined as API Gateway v2 does", async () => {
    for (const status of [201, 418, 503]) {
      const response = await fetch(`${base}/status/${status}`);
      expect(response.status).toBe(status);
      expect(await response.text()).toBe(`status ${status}`);
      expect(response.headers.get("x-custom")).toBe("one, two");
    }
  });

  it("a binary response (image) arrives byte for byte", async () => {
    const response = await fetch(`${base}/image`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await response.arrayBuffer()).equals(expectedImage())).toBe(true);
  });

  it("HEAD: headers without a body, for PHP and for assets", async () => {
    const page = await rawRequest(base, { method: "HEAD", path: "/status/200" });
    expect(page.status).toBe(200);
    expect(page.body.length).toBe(0);
    const asset = await rawRequest(base, { method: "HEAD", path: "/assets/logo.png" });
    expect(asset.status).toBe(200);
    expect(asset.headers["content-length"]).toBe(String(readFileSync(path.join(app.root, "assets/logo.png")).length));
    expect(asset.headers["content-type"]).toBe("image/png");
    expect(asset.body.length).toBe(0);
  });

  it("a PHP fatal error: 500, and the error in the log", async () => {
    const response = await fetch(`${base}/fatal`);
    expect(response.status).toBe(500);
    await expect.poll(() => out().join("\n")).toContain("Call to undefined function undefined_function_for_the_test()");
    await expect.poll(out).toContainEqual(expect.stringMatching(/^GET \/fatal 500 \d+ms$/));
    // Once, whole, as CloudWatch shows php-fpm's log: the message, then its stack trace.
    const lines = out();
    const first = lines.findIndex((line) => line.includes("Uncaught Error: Call to undefined function undefined_function_for_the_test()"));
    expect(lines.filter((line) => line.includes("Call to undefined function undefined_function_for_the_test()")).length).toBe(1);
    expect(lines.filter((line) => line.includes("Stack trace:")).length).toBe(1);
    expect(lines.slice(first, first + 3)).toEqual([
      expect.stringMatching(/^php NOTICE: PHP message: PHP Fatal error: {2}Uncaught Error: Call to undefined function/),
      "php Stack trace:",
      "php #0 {main}",
    ]);
  });

  it("PHP's error_log() and stderr output reach the log", async () => {
    const response = await fetch(`${base}/logs`);
    expect(await response.text()).toBe("logged");
    await expect.poll(() => out().join("\n")).toContain("message through error_log()");
    await expect.poll(() => out().join("\n")).toContain("message written to stderr");
    expect(out().filter((line) => line.includes("message through error_log()"))).toEqual(["php NOTICE: PHP message: message through error_log()"]);
  });

  it("a request over Lambda's 6 MB payload: 413, and a line naming the limit", async () => {
    const response = await fetch(`${base}/dump`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x".repeat(6_400_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: "Request Entity Too Large" });
    expect(warnings().join("\n")).toContain("POST /dump: request over Lambda's 6 MB payload limit");
  });

  it("a 5 MB binary upload is over the limit too, because the event carries it base64-encoded", async () => {
    const response = await fetch(`${base}/dump`, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: Buffer.alloc(5_000_000, 0xff) });
    expect(response.status).toBe(413);
    expect(warnings().join("\n")).toMatch(/request over Lambda's 6 MB payload limit \(event 6\.\d\d MB; binary bodies travel base64-encoded\)/);
  });

  it("a response over 6 MB: 500 as API Gateway answers, and a line naming the limit", async () => {
    const response = await fetch(`${base}/big`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
    expect(warnings().join("\n")).toContain("GET /big: response over Lambda's 6 MB payload limit");
  });

  it("request line + headers over 10,240 bytes: rejected before PHP runs", async () => {
    const response = await rawRequest(base, { path: "/dump", headers: { "X-Big": "b".repeat(10_300) } });
    expect(response.status).toBe(431);
    expect(warnings().join("\n")).toContain("GET /dump: request line + headers over API Gateway's 10,240-byte limit");
  });

  it("many short headers: under API Gateway's count (request line + values) but over CloudFront's 20,480 bytes with the names: refused", async () => {
    const headers: Record<string, string> = {};
    for (let index = 0; index < 3000; index++) headers[`X-H${String(index).padStart(4, "0")}`] = "v";
    const response = await rawRequest(base, { path: "/dump", headers });
    expect(response.status).toBe(431);
    expect(warnings().join("\n")).toMatch(/GET \/dump: request line \+ headers over CloudFront's 20,480-byte limit \(3\d,\d{3} bytes with the header names\)/);
    // A head just under both limits still reaches PHP.
    const fine = await rawRequest(base, { path: "/dump", headers: { "X-Big": "b".repeat(10_000) } });
    expect(fine.status).toBe(200);
  });

  it("handles concurrent requests up to the worker count and queues the rest", async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => fetch(`${base}/worker`)));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const pids = new Set(await Promise.all(responses.map((response) => response.text())));
    // Two workers served all six: the proxy queued the rest instead of failing them.
    expect(pids.size).toBeLessThanOrEqual(2);
  });

  it("a slow script over the integration timeout: 503 like API Gateway, and the server keeps serving", async () => {
    const response = await fetch(`${base}/slow`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: "Service Unavailable" });
    expect(warnings().join("\n")).toContain("GET /slow: request over API Gateway's 1.5 s integration timeout");
    const next = await fetch(`${base}/status/200`);
    expect(next.status).toBe(200);
  });

  it("an absolute-form target (GET http://host/path) reaches PHP as its path and query", async () => {
    const response = await rawRequest(base, { path: "http://example.test/dump?a=1" });
    expect(response.status).toBe(200);
    const data = JSON.parse(response.body.toString()) as Dump;
    expect(data.server.PATH_INFO).toBe("/dump");
    expect(data.get).toEqual({ a: "1" });
  });

  it("a `Proxy:` request header never becomes HTTP_PROXY (httpoxy)", async () => {
    const data = await dump("/dump", { headers: { Proxy: "http://attacker.example:8080", "X-Other": "kept" } });
    expect(data.server).not.toHaveProperty("HTTP_PROXY");
    expect(data.server.HTTP_X_OTHER).toBe("kept");
  });

  it("serves /assets/* with the upload's Content-Type and Cache-Control, an MD5 ETag and 304s", async () => {
    const file = readFileSync(path.join(app.root, "assets/css/site.css"));
    const response = await rawRequest(base, { path: "/assets/css/site.css" });
    expect(response.status).toBe(200);
    expect(response.body.equals(file)).toBe(true);
    expect(response.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("public, max-age=60");
    const etag = `"${createHash("md5").update(file).digest("hex")}"`;
    expect(response.headers.etag).toBe(etag);
    const again = await rawRequest(base, { path: "/assets/css/site.css", headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);

    const image = await fetch(`${base}/assets/logo.png`);
    expect(Buffer.from(await image.arrayBuffer()).equals(readFileSync(path.join(app.root, "assets/logo.png")))).toBe(true);
    const linked = await rawRequest(base, { path: "/assets/inside-link.txt" });
    expect(linked.status).toBe(200);
  });

  it("never serves anything outside the assets folder, nor dotfiles or excluded files: 403 like S3", async () => {
    const attempts = [
      "/assets/../lamp.json",
      "/assets/css/../../lamp.json",
      "/assets/%2e%2e/lamp.json",
      "/assets/%2E%2E%2Flamp.json",
      "/assets/css%2f..%2f..%2flamp.json",
      "/assets/..%5c..%5clamp.json",
      "/assets/.env",
      "/assets/css/%2eenv",
      "/assets/drafts/plan.txt",
      "/assets/escape.json",
      "/assets/passwd",
      "/assets/missing.css",
      "/assets/",
    ];
    for (const attempt of attempts) {
      const response = await rawRequest(base, { path: attempt });
      expect(response.status, attempt).toBe(403);
      const text = response.body.toString();
      expect(text, attempt).toContain("<Code>AccessDenied</Code>");
      expect(text).not.toContain("fixture-app");
      expect(text).not.toContain("root:");
    }
  });

  it("shuts down cleanly: php-fpm and its workers gone, temp dir removed", async () => {
    const { root } = app;
    const ctx2 = createTestContext({ cwd: root, env: process.env, clock: systemClock });
    const project = await loadProject(root);
    const second = await startDevServer({ project, port: 0, host: "127.0.0.1", workers: 2, phpFpm }, ctx2, uiDevLog(ctx2));
    let workers: number[] = [];
    let children: number[] = [];
    const configDir = path.dirname(second.phpFpmSockets[0]!);
    try {
      expect((await fetch(`${second.url}/status/200`)).status).toBe(200);
      workers = workerPids(second.phpFpmPid);
      expect(workers.length).toBe(2);
      children = childPids(second.phpFpmPid);
      expect(existsSync(configDir)).toBe(true);
    } finally {
      await second.close();
    }
    expect(isRunning(second.phpFpmPid)).toBe(false);
    await expect.poll(() => children.filter(isRunning)).toEqual([]);
    expect(existsSync(configDir)).toBe(false);
  });
});

describe.skipIf(!phpFpm)("lamp dev: production's time limits, counted from when the request reaches PHP", () => {
  const start = async (template: string | undefined, timeoutMs?: number) => {
    const app = copyFixtureApp();
    if (template) writeFileSync(path.join(app.root, "template.yaml"), template);
    const ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
    const project = await loadProject(app.root);
    const server = await startDevServer({ project, port: 0, host: "127.0.0.1", workers: 1, phpFpm, timeoutMs }, ctx, uiDevLog(ctx));
    const log = () => [...ctx.ui.texts("out"), ...ctx.ui.texts("warn")].join("\n");
    return { server, log, warnings: () => ctx.ui.texts("warn").join("\n"), stop: async () => (await server.close(), app.remove()) };
  };
  const pidOf = async (response: Response) => Number((await response.text()).replace(/^slept /, ""));

  it("a worker whose connection stayed open past the limit still gives the next request its full time; idle workers are never killed", async () => {
    const { server, log, stop } = await start(undefined, 6000);
    try {
      const first = await fetch(`${server.url}/sleep?ms=0`);
      const worker = await pidOf(first);
      // Idle on the kept-open FastCGI connection longer than the limit...
      await new Promise((resolve) => setTimeout(resolve, 6500));
      // ...then a request well within it (php-fpm's request_terminate_timeout killed it, counting from the first request).
      const slow = await fetch(`${server.url}/sleep?ms=4000`);
      expect(slow.status).toBe(200);
      expect(await pidOf(slow)).toBe(worker);
      expect(await pidOf(await fetch(`${server.url}/sleep?ms=0`))).toBe(worker);
      expect(log()).not.toMatch(/timed out|terminating|exited on signal|over API Gateway/);
    } finally {
      await stop();
    }
  });

  it("PHP past the function's Timeout less Bref's second: 500 as in production, one line naming the limit, and a fresh worker for the next request", async () => {
    const template = "Resources:\n  WebFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 3\n";
    const { server, log, warnings, stop } = await start(template);
    try {
      const before = await pidOf(await fetch(`${server.url}/sleep?ms=0`));
      const response = await fetch(`${server.url}/slow`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ message: "Internal Server Error" });
      expect(warnings()).toContain("GET /slow: PHP ran past 2 s: Bref stops PHP one second before the function's Timeout in template.yaml");
      const next = await fetch(`${server.url}/sleep?ms=0`);
      expect(next.status).toBe(200);
      expect(await pidOf(next)).not.toBe(before);
      // php-fpm's report of the worker lamp stopped is not shown as a warning of its own.
      expect(log()).not.toMatch(/exited on signal|WARNING/);
    } finally {
      await stop();
    }
  });
  it("a function Timeout past the gateway's: API Gateway answers 503 first, and the script runs on until Bref's limit stops it", async () => {
    // Scaled down: the gateway gives up at 1.5 s, Bref stops PHP at 3 s (Timeout 4).
    const template = "Resources:\n  WebFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: 4\n";
    const { server, warnings, stop } = await start(template, 1500);
    try {
      const before = await pidOf(await fetch(`${server.url}/sleep?ms=0`));
      const response = await fetch(`${server.url}/slow`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ message: "Service Unavailable" });
      expect(warnings()).toContain("GET /slow: request over API Gateway's 1.5 s integration timeout");
      expect(warnings()).not.toContain("PHP ran past");
      // The one worker is busy until Bref's limit, then replaced.
      const next = await fetch(`${server.url}/sleep?ms=0`);
      expect(next.status).toBe(200);
      expect(await pidOf(next)).not.toBe(before);
    } finally {
      await stop();
    }
  });
});

describe.skipIf(!phpFpm)("lamp dev: binary responses without BREF_BINARY_RESPONSES", () => {
  it("fails as Lambda does (500) and says which setting to add", async () => {
    const app = copyFixtureApp();
    const ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
    const project = await loadProject(app.root);
    project.config.environment = {};
    const server = await startDevServer({ project, port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    try {
      const response = await fetch(`${server.url}/image`);
      expect(response.status).toBe(500);
      expect(ctx.ui.texts("warn").join("\n")).toContain("Set BREF_BINARY_RESPONSES=1 in lamp.json `environment`");
    } finally {
      await server.close();
      app.remove();
    }
  });
});
