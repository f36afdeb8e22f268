import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { escapeFileName, sha256OfFile, walkAssets } from "../../src/assets/local.js";

let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), "lamp-walk-"));
  root = path.join(base, "assets");
  await mkdir(root);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function put(relative: string, content = relative): Promise<void> {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), content);
}

describe("walkAssets", () => {
  it("lists files with sizes and skips dotfiles, dot-folders and lamp.json excludes", async () => {
    await put("css/app.css", "body{}");
    await put("img/logo.svg");
    await put("ä ö/a+b#c?.js");
    await put(".env", "SECRET=1");
    await put(".git/config");
    await put("img/.DS_Store");
    await put("drafts/wip.css");
    await put("design.psd");
    const tree = await walkAssets(root, ["drafts", "*.psd"]);
    expect(tree.files.map((file) => [file.relativePath, file.size])).toEqual([
      ["css/app.css", 6],
      ["img/logo.svg", 12],
      ["ä ö/a+b#c?.js", Buffer.byteLength("ä ö/a+b#c?.js")],
    ]);
    expect(tree.files[0]!.absolutePath).toBe(path.join(root, "css/app.css"));
    expect(tree.skipped).toEqual(
      expect.arrayContaining([
        { relativePath: ".env", reason: "dotfile" },
        { relativePath: ".git", reason: "dotfile" },
        { relativePath: "img/.DS_Store", reason: "dotfile" },
        { relativePath: "drafts", reason: "excluded" },
        { relativePath: "design.psd", reason: "excluded" },
      ]),
    );
    expect(tree.skipped).toHaveLength(5);
  });

  it("never follows a symlink out of the folder, but follows one that stays inside", async () => {
    await writeFile(path.join(base, "secret.txt"), "password");
    await mkdir(path.join(base, "outside"));
    await writeFile(path.join(base, "outside", "x.css"), "x");
    await put("real/app.css", "app");
    await symlink(path.join(base, "secret.txt"), path.join(root, "leak.txt"));
    await symlink("../outside", path.join(root, "escape"));
    await symlink("real/app.css", path.join(root, "alias.css"));
    await symlink("real", path.join(root, "current"));
    await symlink("..", path.join(root, "real", "loop"));
    await symlink("missing.css", path.join(root, "broken.css"));
    const tree = await walkAssets(root);
    expect(tree.files.map((file) => file.relativePath)).toEqual(["alias.css", "current/app.css", "real/app.css"]);
    expect(tree.files.find((file) => file.relativePath === "alias.css")?.size).toBe(3);
    expect(tree.skipped).toEqual(
      expect.arrayContaining([
        { relativePath: "leak.txt", reason: "symlink-outside" },
        { relativePath: "escape", reason: "symlink-outside" },
        { relativePath: "broken.css", reason: "broken-symlink" },
      ]),
    );
  });

  it("never follows a symlink to a dotfile, a dot-folder or an excluded path inside the folder", async () => {
    await put(".env", "SECRET=1");
    await put(".git/config", "[core]");
    await put("drafts/plan.txt", "plan");
    await put("real/app.css", "app");
    await put("real/app.css.map", "map");
    await symlink(".env", path.join(root, "app.txt"));
    await symlink(".git", path.join(root, "g"));
    await symlink("drafts/plan.txt", path.join(root, "plan.txt"));
    await symlink("drafts", path.join(root, "published"));
    // A public folder reached through a link: its files are judged by their real paths too.
    await symlink("real", path.join(root, "current"));
    const tree = await walkAssets(root, ["drafts", "real/*.map"]);
    expect(tree.files.map((file) => file.relativePath)).toEqual(["current/app.css", "real/app.css"]);
    expect(tree.skipped).toEqual(
      expect.arrayContaining([
        { relativePath: "app.txt", reason: "symlink-to-dotfile" },
        { relativePath: "g", reason: "symlink-to-dotfile" },
        { relativePath: "plan.txt", reason: "symlink-to-excluded" },
        { relativePath: "published", reason: "symlink-to-excluded" },
        { relativePath: "current/app.css.map", reason: "symlink-to-excluded" },
        { relativePath: "real/app.css.map", reason: "excluded" },
      ]),
    );
  });

  it("lists a name that is not UTF-8 as unreadable, escaped, and walks on", async () => {
    await put("a.css");
    await writeFile(Buffer.concat([Buffer.from(`${root}/`), Buffer.from("caf\xe9.txt", "latin1")]), "x");
    await put("z.css");
    const tree = await walkAssets(root);
    expect(tree.files.map((file) => file.relativePath)).toEqual(["a.css", "z.css"]);
    expect(tree.unreadable).toEqual([{ relativePath: "caf\\xE9.txt", error: "name is not valid UTF-8" }]);
  });

  it("says clearly when the folder does not exist", async () => {
    await expect(walkAssets(path.join(base, "nope"))).rejects.toMatchObject({ code: "not-found", message: expect.stringContaining("does not exist") });
    await put("file.css");
    await expect(walkAssets(path.join(root, "file.css"))).rejects.toMatchObject({ code: "usage" });
  });
});

describe("sha256OfFile", () => {
  it("hashes small files and streamed large files to the same digest as hashing the bytes", async () => {
    const small = Buffer.from("hello");
    const large = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < large.length; i += 1) large[i] = (i * 31) & 0xff;
    await writeFile(path.join(root, "small"), small);
    await writeFile(path.join(root, "large"), large);
    const digest = (data: Buffer) => createHash("sha256").update(data).digest("hex");
    expect(await sha256OfFile(path.join(root, "small"), small.length)).toBe(digest(small));
    expect(await sha256OfFile(path.join(root, "large"), large.length)).toBe(digest(large));
  });
});

describe("escapeFileName", () => {
  it("keeps valid UTF-8 and shows every other byte as \\xNN", () => {
    expect(escapeFileName(Buffer.from("été/ok ü.css"))).toBe("été/ok ü.css");
    expect(escapeFileName(Buffer.from("caf\xe9.txt", "latin1"))).toBe("caf\\xE9.txt");
    // A UTF-16 surrogate encoded in UTF-8, a truncated sequence, an overlong slash.
    expect(escapeFileName(Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]))).toBe("a\\xED\\xA0\\x80b");
    expect(escapeFileName(Buffer.from([0x78, 0xe2, 0x82]))).toBe("x\\xE2\\x82");
    expect(escapeFileName(Buffer.from([0xc0, 0xaf]))).toBe("\\xC0\\xAF");
  });
});
