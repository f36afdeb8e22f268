import { describe, expect, it } from "vitest";
import { assetExclusion, isAssetPathAllowed } from "../../src/assets/selection.js";

describe("isAssetPathAllowed", () => {
  it.each([".env", ".DS_Store", ".git/config", "img/.DS_Store", ".well-known/security.txt", "a/.hidden/b.css", "..", "../secret", "a/../b"])(
    "never allows %s (a dot segment)",
    (relativePath) => {
      expect(isAssetPathAllowed(relativePath, [])).toBe(false);
      expect(assetExclusion(relativePath)).toBe("dotfile");
    },
  );

  it.each(["app.css", "css/app.css", "img/logo.svg", "fonts/ä ö.woff2", "a+b#c?.css", "x.min.js", "no-extension"])("allows %s", (relativePath) => {
    expect(isAssetPathAllowed(relativePath, [])).toBe(true);
  });

  it("rejects paths that are not relative file paths", () => {
    for (const bad of ["", "/etc/passwd", "a//b.css", "a\\b.css", "dir/"]) {
      expect(assetExclusion(bad)).toBe("invalid");
    }
  });

  it("applies lamp.json's exclude globs to the file and to every folder above it", () => {
    const exclude = ["*.psd", "drafts", "src/**", "*.map"];
    expect(isAssetPathAllowed("design/logo.psd", exclude)).toBe(false);
    expect(isAssetPathAllowed("drafts/a.css", exclude)).toBe(false);
    expect(isAssetPathAllowed("deep/drafts/a.css", exclude)).toBe(false);
    expect(isAssetPathAllowed("src/app.ts", exclude)).toBe(false);
    expect(isAssetPathAllowed("app.js.map", exclude)).toBe(false);
    expect(assetExclusion("app.js.map", exclude)).toBe("excluded");
    expect(isAssetPathAllowed("app.js", exclude)).toBe(true);
    expect(isAssetPathAllowed("lib/src/app.js", exclude)).toBe(true);
    expect(isAssetPathAllowed("drafts.css", exclude)).toBe(true);
  });
});
