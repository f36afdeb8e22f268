import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AssetServer, type AssetRequest } from "../../src/dev/static-files.js";

/**
 * The bucket's stand-in keeps each served file's bytes and answer: a changed file must still be
 * answered at once — whether its folder is watched (the default) or each request stats the file.
 */

/**
 * A request reaches the server through the event loop, after the system's notice of a change made
 * before it was sent: two turns of the loop here (one whole poll phase) stand for that.
 */
const throughTheLoop = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

const request = (encodedPath: string, extra: Partial<AssetRequest> = {}): AssetRequest => ({ method: "GET", encodedPath, ids: { apiRequestId: "req-1" }, ...extra });

describe.each([
  { mode: "watched folders", watchFolders: true },
  { mode: "a stat per request", watchFolders: false },
])("static files with $mode", ({ watchFolders }) => {
  let root: string;
  let server: AssetServer;
  /** The server's clock (ms): a path's resolution is trusted for a second of it. */
  let clock = 0;
  const css = () => path.join(root, "css", "app.css");

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "lamp-static-"));
    mkdirSync(path.join(root, "css"));
    writeFileSync(css(), "body{color:blue}");
    clock = 0;
    server = new AssetServer(root, [], {}, { watchFolders, now: () => clock });
  });
  afterEach(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("serves an edited file at once, with a new ETag", async () => {
    const before = await server.serve(request("/assets/css/app.css"));
    expect(before.body.toString()).toBe("body{color:blue}");
    expect((await server.serve(request("/assets/css/app.css"))).body.toString()).toBe("body{color:blue}");
    writeFileSync(css(), "body{color:red}");
    await throughTheLoop();
    const after = await server.serve(request("/assets/css/app.css"));
    expect(after.body.toString()).toBe("body{color:red}");
    expect(after.headers).not.toBe(before.headers);
    expect(after.headers[after.headers.indexOf("ETag") + 1]).not.toBe(before.headers[before.headers.indexOf("ETag") + 1]);
  });

  it("serves a file saved the way editors save (a new file renamed over it) at once, same size included", async () => {
    await server.serve(request("/assets/css/app.css"));
    writeFileSync(path.join(root, "css", ".app.css.tmp"), "body{color:cyan}");
    renameSync(path.join(root, "css", ".app.css.tmp"), css());
    await throughTheLoop();
    expect((await server.serve(request("/assets/css/app.css"))).body.toString()).toBe("body{color:cyan}");
  });

  it("serves the files of a folder deleted and made again (a build's clean step) at once, and their next edits too", async () => {
    expect((await server.serve(request("/assets/css/app.css"))).body.toString()).toBe("body{color:blue}");
    for (const [index, color] of ["olive", "navy", "teal"].entries()) {
      if (index === 0) {
        rmSync(path.join(root, "css"), { recursive: true });
        mkdirSync(path.join(root, "css"));
      }
      writeFileSync(css(), `body{color:${color}}`);
      await throughTheLoop();
      expect((await server.serve(request("/assets/css/app.css"))).body.toString()).toBe(`body{color:${color}}`);
    }
  });

  it("serves a file over 10 MB (a video) from disk: whole with S3's MD5 ETag, one range's bytes, HEAD's length unread, 416 past its end, an edit at once", async () => {
    const video = Buffer.alloc(10_500_000);
    for (let index = 0; index < video.length; index += 4096) video.writeUInt32BE(index, index);
    writeFileSync(path.join(root, "css", "clip.mp4"), video);
    const whole = await server.serve(request("/assets/css/clip.mp4"));
    expect(whole.statusCode).toBe(200);
    expect(whole.body.equals(video)).toBe(true);
    expect(whole.headers[whole.headers.indexOf("ETag") + 1]).toBe(`"${createHash("md5").update(video).digest("hex")}"`);
    const head = await server.serve(request("/assets/css/clip.mp4", { method: "HEAD" }));
    expect(head.statusCode).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headLength).toBe(video.length);
    const part = await server.serve(request("/assets/css/clip.mp4", { range: "bytes=8192-8199" }));
    expect(part.statusCode).toBe(206);
    expect(part.headers[part.headers.indexOf("Content-Range") + 1]).toBe(`bytes 8192-8199/${video.length}`);
    expect(part.body.equals(video.subarray(8192, 8200))).toBe(true);
    const past = await server.serve(request("/assets/css/clip.mp4", { range: `bytes=${video.length}-` }));
    expect(past.statusCode).toBe(416);
    expect(past.body.toString()).toContain(`<ActualObjectSize>${video.length}</ActualObjectSize>`);
    video.writeUInt32BE(0xdeadbeef, 8192);
    writeFileSync(path.join(root, "css", "clip.mp4"), video);
    await throughTheLoop();
    expect((await server.serve(request("/assets/css/clip.mp4", { range: "bytes=8192-8195" }))).body.readUInt32BE(0)).toBe(0xdeadbeef);
  });

  it("after a folder above is renamed and another put in its place (a build swapping its output), serves the new one within a second, then its edits at once", async () => {
    const built = (folder: string) => path.join(root, folder, "css", "site.css");
    mkdirSync(path.dirname(built("build")), { recursive: true });
    writeFileSync(built("build"), "body{color:blue}");
    expect((await server.serve(request("/assets/build/css/site.css"))).body.toString()).toBe("body{color:blue}");
    mkdirSync(path.dirname(built("build.tmp")), { recursive: true });
    writeFileSync(built("build.tmp"), "body{color:plum}");
    renameSync(path.join(root, "build"), path.join(root, "build.old"));
    renameSync(path.join(root, "build.tmp"), path.join(root, "build"));
    await throughTheLoop();
    clock += 1000;
    expect((await server.serve(request("/assets/build/css/site.css"))).body.toString()).toBe("body{color:plum}");
    writeFileSync(built("build"), "body{color:gold}");
    await throughTheLoop();
    expect((await server.serve(request("/assets/build/css/site.css"))).body.toString()).toBe("body{color:gold}");
  });

  it("answers 403 for a file deleted since it was served", async () => {
    expect((await server.serve(request("/assets/css/app.css"))).statusCode).toBe(200);
    unlinkSync(css());
    await throughTheLoop();
    const gone = await server.serve(request("/assets/css/app.css"));
    expect(gone.statusCode).toBe(403);
    expect(gone.body.toString()).toMatch(/<Code>AccessDenied<\/Code>.*<RequestId>req-1<\/RequestId>/s);
  });

  it("answers a conditional GET of the unchanged file with 304, and of the edited one with the new bytes", async () => {
    const first = await server.serve(request("/assets/css/app.css"));
    const etag = first.headers[first.headers.indexOf("ETag") + 1]!;
    expect((await server.serve(request("/assets/css/app.css", { ifNoneMatch: etag }))).statusCode).toBe(304);
    writeFileSync(css(), "body{color:green}");
    await throughTheLoop();
    const changed = await server.serve(request("/assets/css/app.css", { ifNoneMatch: etag }));
    expect(changed.statusCode).toBe(200);
    expect(changed.body.toString()).toBe("body{color:green}");
  });
});

const linux = process.platform === "linux";
if (!linux) console.warn("\n⚠⚠⚠ SKIPPING the watched-folder test: folders are watched on Linux only (elsewhere each request stats its file). ⚠⚠⚠\n");

describe.skipIf(!linux)("static files in a watched folder", () => {
  // Only a watch hears of this edit: a stat sees the same inode, size and mtime. So this also shows that the
  // "watched folders" runs above really watch (a temp folder on a file system inotify reports).
  it("serves an edit that keeps the file's size and mtime (cp -p, rsync -t) at once", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "lamp-static-"));
    const server = new AssetServer(root, [], {});
    try {
      const file = path.join(root, "app.css");
      // A whole-second time, so that setting it again gives the very same mtime.
      const copied = new Date(Date.UTC(2026, 0, 1));
      writeFileSync(file, "body{color:blue}");
      utimesSync(file, copied, copied);
      expect((await server.serve(request("/assets/app.css"))).body.toString()).toBe("body{color:blue}");
      writeFileSync(file, "body{color:lime}");
      utimesSync(file, copied, copied);
      await throughTheLoop();
      expect((await server.serve(request("/assets/app.css"))).body.toString()).toBe("body{color:lime}");
    } finally {
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
