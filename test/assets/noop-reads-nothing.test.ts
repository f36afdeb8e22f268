import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localS3Credentials, useLocalS3 } from "./s3-server.js";
import { runLamp } from "../helpers/run-lamp.js";

/**
 * Issue 9 item 18: a sync with nothing changed reads no file content; lamp keeps each file's
 * size, mtime, ctime, inode and hash in the project's .lamp/ and hashes a file again only when
 * one of them changed. Proved without instrumenting lamp: the files belong to root with mode
 * 0600, and the no-op runs as an unprivileged user, who can list and stat them but not read them.
 */
const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  if (process.env.CI) throw new Error("test/assets/noop-reads-nothing.test.ts must run as root in CI (it switches to an unprivileged user).");
  console.warn("\n⚠⚠⚠ SKIPPING the no-op-reads-nothing test: it needs root to run lamp as another user. ⚠⚠⚠\n");
}

const s3 = useLocalS3([]);
const nobody = { uid: 65534, gid: 65534 };
let project: string;
const files: Record<string, string | Buffer> = {
  "css/app.css": "body { color: red }",
  "js/app.js": "console.log(1)",
  "img/logo.svg": "<svg/>",
  // Above the multipart threshold: the file a no-op used to read in full every time.
  "video/intro.mp4": Buffer.alloc(9 * 1024 * 1024, 7),
};

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), "lamp-noop-"));
  await chmod(project, 0o755);
  await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "noop", region: "us-east-1" }), { mode: 0o644 });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(project, "assets", name)), { recursive: true, mode: 0o755 });
    await writeFile(path.join(project, "assets", name), content, { mode: 0o600 });
  }
  await s3.raw.send(new CreateBucketCommand({ Bucket: "noop" }));
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

const sync = (user: { uid?: number; gid?: number } = {}) =>
  runLamp(["--endpoint-url", s3.server.endpointUrl, "--region", "us-east-1", "--json", "sync-assets", "--bucket", "noop", "--no-invalidate"], {
    cwd: project,
    env: { ...localS3Credentials, HOME: project },
    ...user,
  });

describe.skipIf(!isRoot)("a no-op lamp sync-assets", () => {
  it("reads no file content: it succeeds as a user who cannot read the files, from the hashes kept in .lamp/", async () => {
    const first = await sync();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ uploaded: 4, failed: [] });
    const noop = await sync(nobody);
    expect(noop.code, noop.stderr).toBe(0);
    expect(JSON.parse(noop.stdout)).toMatchObject({ uploaded: 0, unchanged: 4, deleted: 0, failed: [] });

    const cache = JSON.parse(await readFile(path.join(project, ".lamp", "assets-hashes.json"), "utf8")) as { files: Record<string, { size: number; mtimeNs: string; ctimeNs: string; ino: string; sha256: string }> };
    expect(Object.keys(cache.files).sort()).toEqual(Object.keys(files).sort());
    expect(cache.files["css/app.css"]).toEqual({ size: 19, mtimeNs: expect.stringMatching(/^\d+$/), ctimeNs: expect.stringMatching(/^\d+$/), ino: expect.stringMatching(/^\d+$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("hashes a file again once it changed, even to the same size", async () => {
    await writeFile(path.join(project, "assets", "css/app.css"), "body { color: blue}");
    const run = await sync();
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { uploaded: number; changes: { path: string; reason: string }[] };
    expect(result.changes).toEqual([expect.objectContaining({ path: "css/app.css", reason: "changed" })]);
  });
});
