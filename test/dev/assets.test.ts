import { describe, expect, it } from "vitest";
import { assetRelativePath } from "../../src/dev/static-files.js";

describe("assetRelativePath: which file an /assets/ URL may name", () => {
  it.each([
    ["/assets/style.css", "style.css"],
    ["/assets/css/site.css", "css/site.css"],
    ["/assets/img/my%20logo.svg", "img/my logo.svg"],
    ["/assets/%C3%A9t%C3%A9.txt", "été.txt"],
  ])("%s -> %s", (url, relativePath) => {
    expect(assetRelativePath(url, [])).toEqual({ ok: true, relativePath });
  });

  it.each([
    ["/assets/../lamp.json", "path traversal"],
    ["/assets/a/./b.css", "path traversal"],
    ["/assets/%2e%2e/lamp.json", "path traversal"],
    ["/assets/%2E%2E%2Flamp.json", "encoded slash"],
    ["/assets/css%2fsite.css", "encoded slash"],
    ["/assets/..%5Clamp.json", "encoded slash"],
    ["/assets/.env", "dotfile"],
    ["/assets/css/%2Egit/config", "dotfile"],
    ["/assets/a%00.css", "invalid character"],
    ["/assets/%E0%A4%A", "malformed percent-encoding"],
    ["/assets/", "not a file path"],
    ["/assets/a//b.css", "not a file path"],
    ["/assets/drafts/plan.txt", "excluded by lamp.json assets.exclude"],
  ])("%s is refused (%s)", (url, reason) => {
    expect(assetRelativePath(url, ["drafts"])).toEqual({ ok: false, reason });
  });
});
