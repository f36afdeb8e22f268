import { describe, expect, it } from "vitest";
import { cacheControlFor, contentTypeFor, immutableCacheControl, isFingerprinted, revalidateCacheControl } from "../../src/assets/media.js";

describe("contentTypeFor", () => {
  // What a browser needs for each extension; the traps from the issue first.
  const table: [string, string][] = [
    ["app.js", "text/javascript; charset=utf-8"],
    ["module.mjs", "text/javascript; charset=utf-8"],
    ["legacy.cjs", "text/javascript; charset=utf-8"],
    ["engine.wasm", "application/wasm"],
    ["site.webmanifest", "application/manifest+json; charset=utf-8"],
    ["font.woff2", "font/woff2"],
    ["font.woff", "font/woff"],
    ["font.ttf", "font/ttf"],
    ["font.otf", "font/otf"],
    ["font.eot", "application/vnd.ms-fontobject"],
    ["logo.svg", "image/svg+xml; charset=utf-8"],
    ["logo.svgz", "image/svg+xml"],
    ["data.json", "application/json; charset=utf-8"],
    ["app.js.map", "application/json; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["page.html", "text/html; charset=utf-8"],
    ["page.htm", "text/html; charset=utf-8"],
    ["robots.txt", "text/plain; charset=utf-8"],
    ["feed.xml", "application/xml; charset=utf-8"],
    ["feed.rss", "application/rss+xml; charset=utf-8"],
    ["feed.atom", "application/atom+xml; charset=utf-8"],
    ["table.csv", "text/csv; charset=utf-8"],
    ["notes.md", "text/markdown; charset=utf-8"],
    ["captions.vtt", "text/vtt; charset=utf-8"],
    ["photo.png", "image/png"],
    ["photo.jpg", "image/jpeg"],
    ["photo.jpeg", "image/jpeg"],
    ["photo.gif", "image/gif"],
    ["photo.webp", "image/webp"],
    ["photo.avif", "image/avif"],
    ["anim.apng", "image/apng"],
    ["favicon.ico", "image/x-icon"],
    ["clip.mp4", "video/mp4"],
    ["clip.webm", "video/webm"],
    ["song.mp3", "audio/mpeg"],
    ["sound.wav", "audio/wav"],
    ["doc.pdf", "application/pdf"],
    ["bundle.zip", "application/zip"],
    ["archive.gz", "application/gzip"],
    ["app.js.br", "application/octet-stream"],
    ["data.jsonld", "application/ld+json; charset=utf-8"],
    ["scene.glb", "model/gltf-binary"],
    ["scene.gltf", "model/gltf+json; charset=utf-8"],
    ["stream.m3u8", "application/vnd.apple.mpegurl"],
  ];
  it.each(table)("%s -> %s", (file, type) => {
    expect(contentTypeFor(file)).toBe(type);
  });

  it("ignores the case of the extension and the folders", () => {
    expect(contentTypeFor("js/VENDOR.JS")).toBe("text/javascript; charset=utf-8");
    expect(contentTypeFor("/abs/path/Photo.PNG")).toBe("image/png");
  });

  it("falls back to application/octet-stream for unknown or missing extensions", () => {
    expect(contentTypeFor("blob.unknownext")).toBe("application/octet-stream");
    expect(contentTypeFor("LICENSE")).toBe("application/octet-stream");
  });
});

describe("isFingerprinted", () => {
  it.each([
    "app.3f9a1c2e.css",
    "css/app.3f9a1c2e.css",
    "app-3f9a1c2e.css",
    "main.5d41402abc4b2a76b9719d911017c592.js",
    "index-Bx3kQ9aZ.js",
    "chunk-7QX2KJ4P.js",
    "app.3f9a1c2e.js.map",
    "3f9a1c2e.js",
  ])("%s is fingerprinted", (name) => {
    expect(isFingerprinted(name)).toBe(true);
  });

  it.each([
    "app.css",
    "bootstrap5.css",
    "Bootstrap5.css",
    "jquery-3.7.1.min.js",
    "report-20240101.pdf",
    "deadbeef.css",
    "MyButton.js",
    "components/slideshow.js",
    "3f9a1c2e/app.css",
  ])("%s is not fingerprinted", (name) => {
    expect(isFingerprinted(name)).toBe(false);
  });
});

describe("cacheControlFor", () => {
  it("caches fingerprinted names for a year as immutable", () => {
    expect(cacheControlFor("app.3f9a1c2e.css")).toBe("public, max-age=31536000, immutable");
    expect(immutableCacheControl).toBe("public, max-age=31536000, immutable");
  });

  it("gives other names a short max-age with revalidation", () => {
    const value = cacheControlFor("app.css");
    expect(value).toBe(revalidateCacheControl);
    expect(value).toMatch(/max-age=\d{1,4}(,|$)/);
    expect(value).toContain("must-revalidate");
  });

  it("lets the first matching override win, globs relative to the assets folder", () => {
    const overrides = {
      "fonts/**": "public, max-age=31536000, immutable",
      "*.html": "no-cache",
      "**/*.css": "public, max-age=60",
    };
    expect(cacheControlFor("fonts/inter.woff2", overrides)).toBe("public, max-age=31536000, immutable");
    expect(cacheControlFor("fonts/deep/a.css", overrides)).toBe("public, max-age=31536000, immutable");
    expect(cacheControlFor("docs/page.html", overrides)).toBe("no-cache");
    expect(cacheControlFor("css/app.css", overrides)).toBe("public, max-age=60");
    // An override beats fingerprint detection, and an unmatched file keeps the defaults.
    expect(cacheControlFor("app.3f9a1c2e.css", { "*.css": "no-store" })).toBe("no-store");
    expect(cacheControlFor("img/logo.png", overrides)).toBe(revalidateCacheControl);
  });

  it("anchors a glob with a slash at the assets folder's root", () => {
    expect(cacheControlFor("vendor/fonts/a.woff2", { "fonts/**": "x" })).toBe(revalidateCacheControl);
    expect(cacheControlFor("fonts/a.woff2", { "./fonts/*.woff2": "x" })).toBe("x");
  });
});
