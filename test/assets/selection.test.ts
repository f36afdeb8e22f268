import { describe, expect, it } from "vitest";
import { assetExclusion, assetTargetExclusion, isAssetPathAllowed, isStaticType, pathInsideFolder, publicAssetExclusion } from "../../src/assets/selection.js";

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

describe("publicAssetExclusion: a file is judged by its name and by what it resolves to", () => {
  it("keeps a public name that resolves to a dotfile, a dot-folder, an excluded file or outside the folder private", () => {
    const exclude = ["drafts", "*.psd"];
    expect(publicAssetExclusion("app.txt", ".env", exclude)).toBe("symlink-to-dotfile");
    expect(publicAssetExclusion("g/config", ".git/config", exclude)).toBe("symlink-to-dotfile");
    expect(publicAssetExclusion("img/.cache-link", "img/x.png", exclude)).toBe("dotfile");
    expect(publicAssetExclusion("plan.txt", "drafts/plan.txt", exclude)).toBe("symlink-to-excluded");
    expect(publicAssetExclusion("logo.png", "design/logo.psd", exclude)).toBe("symlink-to-excluded");
    expect(publicAssetExclusion("passwd", undefined, exclude)).toBe("symlink-outside");
  });

  it("allows a public name whose target is public too", () => {
    expect(publicAssetExclusion("alias.css", "real/app.css", ["drafts"])).toBeUndefined();
    expect(publicAssetExclusion("css/app.css", "css/app.css", ["drafts"])).toBeUndefined();
    expect(assetTargetExclusion("real/app.css")).toBeUndefined();
  });
});

describe("pathInsideFolder", () => {
  it("gives the `/`-separated path inside the folder, or undefined for the folder itself and anything outside", () => {
    expect(pathInsideFolder("/p/assets", "/p/assets/css/app.css")).toBe("css/app.css");
    expect(pathInsideFolder("/p/assets", "/p/assets/..hidden")).toBe("..hidden");
    expect(pathInsideFolder("/p/assets", "/p/assets")).toBeUndefined();
    expect(pathInsideFolder("/p/assets", "/p/assets-old/app.css")).toBeUndefined();
    expect(pathInsideFolder("/p/assets", "/p/.env")).toBeUndefined();
    expect(pathInsideFolder("/p/assets", "/etc/passwd")).toBeUndefined();
  });
});

describe("isStaticType: the document root's allow-list", () => {
  it.each(["wp-config.php.txt", "wp-config.txt", "x.php.css", "a/b/index.PHP.txt", "x.phtml.js", "lib.phar.png", "wp-config-backup.css", "config.txt", "app.config.txt", "config-old.txt", "env.txt", "prod.env.txt"])(
    "never treats %s as static (code or configuration under a static extension)",
    (name) => expect(isStaticType(name)).toBe(false),
  );

  it.each(["robots.txt", "license.txt", "js/config.js", "css/config.css", "environment.txt", "phpmyadmin.css", "img/graph.png", "a.pharmacy.png"])("still serves %s", (name) => {
    expect(isStaticType(name)).toBe(true);
  });
});
