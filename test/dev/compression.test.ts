import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync, brotliDecompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext } from "../helpers/context.js";
import { writeNewProject } from "../helpers/new-project.js";
import { phpFpmForTests, rawRequest } from "./helpers.js";

/**
 * What the browser gets under `lamp dev` from a new project (runtime layer on, BREF_BINARY_RESPONSES=1):
 * PHP's text pages gzip-compressed by the function's runtime layer, static files compressed as
 * CloudFront compresses what it caches, identity for a browser that takes neither, never twice,
 * and what CloudFront would cache in X-Lamp-Cache.
 */

const phpFpm = phpFpmForTests();

/** ~24 KB of HTML with the repetition of a real page (a list of products). */
const page = `<?php
// One front controller (a new project has no router): the query picks the answer.
if (isset($_GET['self'])) { header('Content-Type: text/html'); header('Content-Encoding: gzip'); echo gzencode(str_repeat('<p>self</p>', 500), 6); exit; }
if (isset($_GET['tiny'])) { echo 'hello'; exit; }
if (isset($_GET['image'])) { header('Content-Type: image/png'); echo str_repeat("\\x89PNG", 1000); exit; }
header('Content-Type: text/html; charset=utf-8');
if (isset($_GET['cache'])) header('Cache-Control: public, s-maxage=60');
if (isset($_GET['etag'])) { header('ETag: "v1"'); if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === 'W/"v1"') { http_response_code(304); exit; } }
echo "<!doctype html><html><head><title>Shop</title></head><body><ul>\\n";
for ($i = 0; $i < 240; $i++) echo "<li class=\\"product\\"><a href=\\"/product/$i\\">Product number $i</a> <span>price</span></li>\\n";
echo "</ul></body></html>\\n";
`;

describe.skipIf(!phpFpm)("compression and edge caching under lamp dev", () => {
  let server: DevServer;
  let remove: () => void;
  let root: string;
  let identityLength = 0;
  const get = (requestPath: string, headers: Record<string, string> = {}, method = "GET") => rawRequest(server.url, { path: requestPath, method, headers });

  beforeAll(async () => {
    const project = await writeNewProject({ name: "compress" });
    remove = project.remove;
    root = project.root;
    writeFileSync(path.join(project.root, "public", "index.php"), page);
    mkdirSync(path.join(project.root, "public", "build"), { recursive: true });
    writeFileSync(path.join(project.root, "public", "build", "app.css"), Array.from({ length: 400 }, (_, index) => `.c${index}{margin:${index % 7}px}`).join("\n"));
    const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    remove?.();
  });

  it("sends a 24 KB page identity to a browser that takes no compression, and at least 4x smaller gzipped to one that does", async () => {
    const identity = await get("/");
    expect(identity.status).toBe(200);
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(identity.headers.vary).toMatch(/accept-encoding/i);
    identityLength = identity.body.length;
    expect(identityLength).toBeGreaterThan(20_000);

    const gzipped = await get("/", { "Accept-Encoding": "gzip, deflate, br" });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers["content-encoding"]).toBe("gzip");
    expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(gzipped.headers["content-length"])).toBe(gzipped.body.length);
    expect(gzipped.body.length * 4).toBeLessThanOrEqual(identityLength);
    expect(gunzipSync(gzipped.body).equals(identity.body)).toBe(true);
  });

  it("answers HEAD with GET's headers and no body; a 304 with no body and no encoding", async () => {
    const head = await get("/", { "Accept-Encoding": "gzip" }, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-encoding"]).toBe("gzip");
    expect(head.body.length).toBe(0);

    const conditional = await get("/?etag=1", { "Accept-Encoding": "gzip", "If-None-Match": 'W/"v1"' });
    expect(conditional.status).toBe(304);
    expect(conditional.body.length).toBe(0);
    expect(conditional.headers["content-encoding"]).toBeUndefined();
    const full = await get("/?etag=1", { "Accept-Encoding": "gzip" });
    expect(full.headers.etag).toBe('W/"v1"');
  });

  it("never compresses twice, nor small or binary bodies", async () => {
    const self = await get("/?self=1", { "Accept-Encoding": "gzip, br" });
    expect(self.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(self.body).toString()).toBe("<p>self</p>".repeat(500));

    const tiny = await get("/?tiny=1", { "Accept-Encoding": "gzip" });
    expect(tiny.headers["content-encoding"]).toBeUndefined();
    expect(tiny.body.toString()).toBe("hello");

    const image = await get("/?image=1", { "Accept-Encoding": "gzip" });
    expect(image.headers["content-encoding"]).toBeUndefined();
    expect(image.body.length).toBe(4000);
    expect(gzipSync(image.body).length).toBeLessThan(4000); // compressible, so left alone by type only
  });

  it("says what CloudFront would cache: nothing by default, a page with s-maxage for that long", async () => {
    const plain = await get("/");
    expect(plain.headers["x-lamp-cache"]).toMatch(/^not cached: no Cache-Control or Expires/);
    const cached = await get("/?cache=1", { "Accept-Encoding": "gzip" });
    expect(cached.headers["x-lamp-cache"]).toMatch(/^would be cached 60 s at the edge \(s-maxage=60\)/);
    // Compressed once, by PHP: CloudFront leaves an encoded answer alone.
    expect(gunzipSync(cached.body).length).toBe(identityLength);
    const post = await get("/", {}, "POST");
    expect(post.headers["x-lamp-cache"]).toMatch(/not cached: CloudFront caches GET and HEAD only/);
  });

  it("compresses static files as CloudFront does (brotli first), cached per their Cache-Control", async () => {
    const identity = await get("/build/app.css");
    expect(identity.status).toBe(200);
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(identity.headers["x-lamp-cache"]).toMatch(/^would be cached \d+ s/);
    const br = await get("/build/app.css", { "Accept-Encoding": "gzip, br" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(br.headers.etag).toBe(`W/${identity.headers.etag}`);
    expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
    const gzip = await get("/build/app.css", { "Accept-Encoding": "gzip" });
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
    const notModified = await get("/build/app.css", { "Accept-Encoding": "gzip", "If-None-Match": br.headers.etag! });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
  });

  it("answers one byte range as S3 does (206, 416), never compressed", async () => {
    const whole = await get("/build/app.css");
    expect(whole.headers["accept-ranges"]).toBe("bytes");
    const part = await get("/build/app.css", { Range: "bytes=10-19", "Accept-Encoding": "gzip, br" });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe(`bytes 10-19/${whole.body.length}`);
    expect(part.headers["content-encoding"]).toBeUndefined();
    expect(part.body.equals(whole.body.subarray(10, 20))).toBe(true);
    const suffix = await get("/build/app.css", { Range: "bytes=-5" });
    expect(suffix.body.equals(whole.body.subarray(whole.body.length - 5))).toBe(true);
    const past = await get("/build/app.css", { Range: `bytes=${whole.body.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers["content-range"]).toBe(`bytes */${whole.body.length}`);
    expect(past.body.toString()).toMatch(/<Code>InvalidRange<\/Code>/);
  });

  it("serves an edited file at once (the path's resolution is cached, the file is not)", async () => {
    const before = await get("/build/app.css");
    writeFileSync(path.join(root, "public", "build", "app.css"), "body{color:red}");
    const after = await get("/build/app.css");
    expect(after.body.toString()).toBe("body{color:red}");
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });
});
