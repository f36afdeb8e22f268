import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { localS3Credentials, useLocalS3 } from "./s3-server.js";
import { runLamp } from "../helpers/run-lamp.js";

/**
 * Issue 9 item 5: an unreadable file or folder, or a file name that is not UTF-8, is reported
 * by name and skipped; the rest is synced; the exit code is non-zero; nothing of it is deleted
 * from the bucket. Runs the built CLI as a user would — as an unprivileged user when the tests
 * run as root, since root reads whatever the permission bits say.
 */
const s3 = useLocalS3([]);
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
let work: string;
let assets: string;
let bucketCount = 0;
let bucket: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-unreadable-"));
  await chmod(work, 0o755);
  assets = path.join(work, "assets");
  bucket = `unreadable-${++bucketCount}`;
  await s3.raw.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterEach(async () => {
  await chmod(path.join(assets, "secret"), 0o755).catch(() => {});
  await rm(work, { recursive: true, force: true });
});

/** Writes a file; a Buffer name is written byte for byte (it need not be UTF-8). */
async function put(relative: string | Buffer, content = "content"): Promise<void> {
  if (Buffer.isBuffer(relative)) {
    await writeFile(Buffer.concat([Buffer.from(`${assets}/`), relative]), content, { mode: 0o644 });
    return;
  }
  const file = path.join(assets, relative);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, content, { mode: 0o644 });
}

const sync = (...flags: string[]) =>
  runLamp(["--endpoint-url", s3.server.endpointUrl, "--region", "us-east-1", "--json", "sync-assets", "--bucket", bucket, "--dir", assets, "--no-invalidate", ...flags], {
    cwd: work,
    env: { ...localS3Credentials, HOME: work },
    ...asUser,
  });

async function keys(): Promise<string[]> {
  return ((await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "assets/" }))).Contents ?? []).map((object) => object.Key!).sort();
}

describe("lamp sync-assets with files it cannot read", () => {
  it("reports each by name, syncs the rest, exits 1 with one JSON document, and deletes none of them", async () => {
    await mkdir(assets, { mode: 0o755 });
    await put("app.css");
    await put("locked.css");
    await put("secret/x.css");
    expect((await sync()).code).toBe(0);
    expect(await keys()).toEqual(["assets/app.css", "assets/locked.css", "assets/secret/x.css"]);

    await put("new.js", "new file");
    await put("app.css", "changed");
    await put(Buffer.from("caf\xe9.txt", "latin1"));
    await chmod(path.join(assets, "locked.css"), 0o000);
    await chmod(path.join(assets, "secret"), 0o000);
    const run = await sync();
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { uploaded: number; deleted: number; failed: { path: string; operation: string; error: string }[] };
    expect(result.failed).toEqual([
      { path: "caf\\xE9.txt", key: "assets/caf\\xE9.txt", operation: "read", error: "name is not valid UTF-8" },
      { path: "locked.css", key: "assets/locked.css", operation: "read", error: "permission denied" },
      { path: "secret/", key: "assets/secret/", operation: "read", error: "permission denied" },
    ]);
    expect(result.uploaded).toBe(2);
    expect(result.deleted).toBe(0);
    expect(run.stderr).toContain("Could not read caf\\xE9.txt (name is not valid UTF-8); skipped.");
    expect(run.stderr).toContain("Could not read secret/ (permission denied); skipped.");
    expect(run.stderr).toMatch(/3 file\(s\) could not be read and were skipped: caf\\xE9\.txt, locked\.css, secret\//);
    expect(run.stderr).not.toMatch(/Unexpected error|^\s+at /m);
    // The readable files are synced; what could not be read stays in the bucket as it was.
    expect(await keys()).toEqual(["assets/app.css", "assets/locked.css", "assets/new.js", "assets/secret/x.css"]);
  });

  it("--dry-run reports the same files and plans no deletion of them", async () => {
    await mkdir(assets, { mode: 0o755 });
    await put("app.css");
    await put("secret/x.css");
    expect((await sync()).code).toBe(0);
    await chmod(path.join(assets, "secret"), 0o000);
    const run = await sync("--dry-run");
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { changes: unknown[]; failed: { path: string }[] };
    expect(result.failed.map((failure) => failure.path)).toEqual(["secret/"]);
    expect(result.changes).toEqual([]);
  });
});
