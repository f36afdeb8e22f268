import { chmod, mkdir, mkdtemp, open, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { writeNewProject } from "../helpers/new-project.js";
import { buildCodePackage, largestFolders, listPackageFiles, packageExclusion, unzippedSizeLimit } from "../../src/deploy/package.js";

/** An independent reader: walks the central directory and inflates each entry (no zip code of lamp's). */
function readZip(zip: Buffer): { name: string; mode: number; date: number; time: number; content: Buffer }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    expect(zip.readUInt32LE(offset)).toBe(0x02014b50);
    const method = zip.readUInt16LE(offset + 10);
    const time = zip.readUInt16LE(offset + 12);
    const date = zip.readUInt16LE(offset + 14);
    const crc = zip.readUInt32LE(offset + 16);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const mode = zip.readUInt32LE(offset + 38) >>> 16;
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data);
    expect(zlib.crc32(content)).toBe(crc);
    entries.push({ name, mode, date, time, content });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

let work: string;
let root: string;
const rules = { assetsDir: "assets", exclude: ["storage/logs", "**/*.md"] };

async function put(relative: string, content: string | Buffer = `content of ${relative}\n`): Promise<void> {
  const file = path.join(root, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-package-"));
  root = path.join(work, "app");
  await put("public/index.php", "<?php echo 'hello';\n");
  await put("src/Kernel.php");
  await put("vendor/autoload.php");
  await put("vendor/bref/bref/src/Runtime.php");
  await put("vendor/bin/tool", "#!/usr/bin/env php\n");
  await chmod(path.join(root, "vendor/bin/tool"), 0o755);
  await put("assets/style.css");
  await put("tests/KernelTest.php");
  await put(".git/HEAD");
  await put(".env", "SECRET=1\n");
  await put("config/.hidden");
  await put("node_modules/left-pad/index.js");
  await put("vendor/some/pkg/node_modules/x.js");
  await put("storage/logs/app.log");
  await put("README.md");
  await put("vendor/some/pkg/CHANGELOG.md");
  await put("storage/framework/keep.php");
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function build(name: string, target = root) {
  return buildCodePackage(target, rules, path.join(work, name));
}

describe("code package contents", () => {
  it("leaves out assets, tests, .git, node_modules, dotfiles and lamp.json's excludes; keeps the rest, sorted", async () => {
    const result = await build("a.zip");
    const entries = readZip(await readFile(result.zipPath));
    expect(entries.map((entry) => entry.name)).toEqual([
      "public/index.php",
      "src/Kernel.php",
      "storage/framework/keep.php",
      "vendor/autoload.php",
      "vendor/bin/tool",
      "vendor/bref/bref/src/Runtime.php",
    ]);
    expect(entries.find((entry) => entry.name === "public/index.php")!.content.toString()).toBe("<?php echo 'hello';\n");
    expect(result.files).toBe(6);
  });

  it("fixes modes (executables stay executable) and timestamps (1980-01-01 00:00)", async () => {
    await chmod(path.join(root, "src/Kernel.php"), 0o600);
    const entries = readZip(await readFile((await build("a.zip")).zipPath));
    const mode = (name: string) => entries.find((entry) => entry.name === name)!.mode;
    expect(mode("vendor/bin/tool")).toBe(0o100755);
    expect(mode("src/Kernel.php")).toBe(0o100644);
    expect(new Set(entries.map((entry) => `${entry.date}/${entry.time}`))).toEqual(new Set([`${(1 << 5) | 1}/0`]));
  });

  it("explains each exclusion", () => {
    expect(packageExclusion("assets/app.js", rules)).toBe("assets");
    expect(packageExclusion("tests/A.php", rules)).toBe("tests");
    expect(packageExclusion("src/tests/A.php", rules)).toBeUndefined();
    expect(packageExclusion(".env", rules)).toBe("dotfile");
    expect(packageExclusion("a/node_modules/b.js", rules)).toBe("node_modules");
    expect(packageExclusion("storage/logs/x.log", rules)).toBe("excluded");
    expect(packageExclusion("public/index.php", rules)).toBeUndefined();
  });

  it("follows a symlinked folder (Composer path repository) once, and skips a dangling link", async () => {
    await put("../packages/local/src/Lib.php");
    await symlink(path.join(work, "packages/local"), path.join(root, "vendor/local"));
    await symlink(path.join(root, "nowhere"), path.join(root, "src/dangling.php"));
    await symlink(root, path.join(root, "src/loop"));
    const dangling: string[] = [];
    const names = listPackageFiles(root, rules, dangling).map((file) => file.name);
    expect(names).toContain("vendor/local/src/Lib.php");
    expect(names).not.toContain("src/dangling.php");
    // Left out, but named: lamp deploy says so.
    expect(dangling).toEqual(["src/dangling.php"]);
    expect(names.some((name) => name.startsWith("src/loop/"))).toBe(false);
  });

  it("streams files too large to read whole, and they unzip intact", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 7 + (i >> 12)) & 0xff;
    await put("vendor/big/data.bin", big);
    const entries = readZip(await readFile((await build("a.zip")).zipPath));
    expect(entries.find((entry) => entry.name === "vendor/big/data.bin")!.content.equals(big)).toBe(true);
  });
});

describe("determinism", () => {
  it("the same files give the same bytes, whatever their mtimes or the order they were written in", async () => {
    const first = await build("a.zip");
    await utimes(path.join(root, "public/index.php"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const touched = await build("b.zip");
    expect(touched.sha256).toBe(first.sha256);

    // A copy written in reverse order, at another time.
    const copy = path.join(work, "copy");
    const files = listPackageFiles(root, rules).reverse();
    for (const file of files) {
      const target = path.join(copy, file.name);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await readFile(file.absolutePath));
      if (file.executable) await chmod(target, 0o755);
    }
    const copied = await build("c.zip", copy);
    expect(copied.sha256).toBe(first.sha256);
    expect((await readFile(copied.zipPath)).equals(await readFile(first.zipPath))).toBe(true);
  });

  it("a changed file changes the hash", async () => {
    const first = await build("a.zip");
    await put("src/Kernel.php", "changed\n");
    expect((await build("b.zip")).sha256).not.toBe(first.sha256);
  });
});

describe("size limits", () => {
  it("refuses a package over Lambda's 250 MB unzipped limit, naming the largest folders", async () => {
    // Sparse files: the limit is checked on sizes before anything is read.
    for (const [name, size] of [["vendor/aws/sdk.bin", 200], ["vendor/google/api.bin", 60], ["storage/cache.bin", 5]] as const) {
      await put(name, "");
      const handle = await open(path.join(root, name), "r+");
      await handle.truncate(size * 1024 * 1024);
      await handle.close();
    }
    const error = (await build("a.zip").catch((caught: unknown) => caught)) as LampError;
    expect(error).toBeInstanceOf(LampError);
    expect(error.code).toBe("limit");
    expect(error.message).toMatch(/^The code package is 265\.0 MB unzipped; Lambda allows 250\.0 MB\. Largest folders: vendor\/ 260\.0 MB, vendor\/aws\/ 200\.0 MB, vendor\/google\/ 60\.0 MB/);
    expect(error.hint).toContain("package.exclude");
    expect(unzippedSizeLimit).toBe(250 * 1024 * 1024);
  });

  it("lists the largest folders, biggest first", () => {
    const file = (name: string, size: number) => ({ name, size, absolutePath: name, executable: false });
    expect(largestFolders([file("a/x/1", 10), file("a/y/2", 30), file("b/3", 5)], 3)).toEqual([
      { folder: "a", size: 40 },
      { folder: "a/y", size: 30 },
      { folder: "a/x", size: 10 },
    ]);
  });
});

describe("a new project's package", () => {
  it("carries the runtime layer to /var/task: php/conf.d/lamp.ini and php/lamp-runtime.php", async () => {
    const project = await writeNewProject();
    try {
      const result = await buildCodePackage(project.root, { assetsDir: "assets", exclude: [] }, path.join(work, "new.zip"));
      const names = readZip(await readFile(result.zipPath)).map((entry) => entry.name);
      expect(names).toEqual(expect.arrayContaining(["php/conf.d/lamp.ini", "php/lamp-runtime.php", "public/index.php"]));
    } finally {
      project.remove();
    }
  });
});
