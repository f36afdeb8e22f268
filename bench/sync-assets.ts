/**
 * lamp sync-assets vs `aws s3 sync` (Debian's aws-cli v2) vs the server's ceiling (a minimal
 * concurrent uploader), all against the same local S3-compatible server, in the same run.
 *
 *   npm run bench:sync-assets [-- --runs 3 --files 2000 --megabytes 100]
 *
 * Each first sync goes into a fresh bucket; the no-op re-sync runs against the bucket its own
 * tool filled. Each figure is the median of --runs runs, printed next to its peer as a ratio.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { awsCli, flag, lampBin, repo, seeded } from "./common.js";


const runs = flag("runs", 3);
const fileCount = flag("files", 2000);
const megabytes = flag("megabytes", 100);


/**
 * A site's assets: many small text files, some images, a few large media files (two above the
 * 8 MB multipart threshold of both tools). Sizes are scaled so the total is about `megabytes`.
 */
export async function generateTree(root: string, fileCount = 2000, megabytes = 100): Promise<{ files: number; bytes: number }> {
  const random = seeded(42);
  const kinds = [
    { share: 0.8, ext: ["css", "js", "svg", "json", "html"], min: 500, max: 20_000 },
    { share: 0.17, ext: ["png", "jpg", "webp", "woff2"], min: 20_000, max: 150_000 },
    { share: 0.03, ext: ["mp4", "pdf", "wasm"], min: 300_000, max: 1_500_000 },
  ];
  const sizes: { name: string; size: number }[] = [];
  for (let i = 0; i < fileCount - 2; i += 1) {
    const pick = random();
    const kind = pick < kinds[0]!.share ? kinds[0]! : pick < kinds[0]!.share + kinds[1]!.share ? kinds[1]! : kinds[2]!;
    const ext = kind.ext[Math.floor(random() * kind.ext.length)]!;
    sizes.push({ name: `d${i % 40}/s${Math.floor(i / 40) % 5}/file-${i}.${ext}`, size: Math.floor(kind.min + random() * (kind.max - kind.min)) });
  }
  const bigFile = 9 * 1024 * 1024;
  const target = megabytes * 1_000_000 - 2 * bigFile;
  const scale = target / sizes.reduce((sum, entry) => sum + entry.size, 0);
  sizes.push({ name: "video/intro.mp4", size: bigFile / scale }, { name: "video/demo.mp4", size: bigFile / scale });
  const pool = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (let offset = 0; offset < pool.length; offset += 4) pool.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), offset);
  let bytes = 0;
  for (const entry of sizes) {
    const size = Math.max(1, Math.round(entry.size * scale));
    const data = Buffer.allocUnsafe(size);
    // Slices of a seeded random pool from random offsets: every file differs, nothing compresses.
    for (let offset = 0; offset < size; ) {
      const start = Math.floor(random() * (pool.length - 1));
      offset += pool.copy(data, offset, start, Math.min(pool.length, start + (size - offset)));
    }
    const file = path.join(root, entry.name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    bytes += size;
  }
  return { files: sizes.length, bytes };
}

async function startServer(directory: string): Promise<{ endpoint: string; child: ChildProcess }> {
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
  const child = spawn(process.execPath, ["--openssl-legacy-provider", path.join(repo, "bench/sync-s3rver.mjs"), directory], { stdio: ["ignore", "pipe", "inherit"], cwd: repo });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

const credentials = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };

function timed(command: string, args: string[], cwd = repo): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...credentials, AWS_PAGER: "" },
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`);
  return seconds;
}

/** One run of bench/sync-noop-phases.mjs: the no-op's steps, in ms. */
function noopPhases(endpoint: string, bucket: string, project: string): Record<string, number> {
  const result = spawnSync(process.execPath, [path.join(repo, "bench/sync-noop-phases.mjs"), endpoint, bucket, project], {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...credentials },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`sync-noop-phases failed (${result.status}):\n${result.stderr.slice(-1500)}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (!existsSync(awsCli)) {
    console.error(`${awsCli} is missing: run \`bash scripts/setup.sh --bench\` (Debian's awscli package).`);
    process.exit(1);
  }
  if (!existsSync(path.join(repo, "dist/cli.js"))) {
    console.error("dist/ is missing: run `npm run build` first.");
    process.exit(1);
  }
  const work = await mkdtemp(path.join(tmpdir(), "lamp-bench-sync-"));
  const server = await startServer(path.join(work, "s3"));
  const stop = () => server.child.kill("SIGTERM");
  process.on("SIGINT", () => {
    stop();
    process.exit(130);
  });
  try {
    // lamp runs inside a project, as users run it: its .lamp/ keeps the local files' hashes between runs.
    const project = path.join(work, "project");
    const tree = path.join(project, "assets");
    const { files, bytes } = await generateTree(tree, fileCount, megabytes);
    await writeFile(path.join(project, "lamp.json"), JSON.stringify({ stackName: "bench", region: "us-east-1" }));
    console.log(`Tree: ${files} files, ${(bytes / 1e6).toFixed(1)} MB; server: s3rver in its own process; ${runs} run(s) each, median.`);
    const admin = new S3Client({ region: "us-east-1", endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const results = { lampFirst: [] as number[], awsFirst: [] as number[], ceiling: [] as number[], lampNoop: [] as number[], awsNoop: [] as number[], listing: [] as number[] };
    const startup = { node: [] as number[], lamp: [] as number[] };
    const phases: Record<string, number>[] = [];
    const lamp = (bucket: string) =>
      timed(process.execPath, [lampBin, "--endpoint-url", server.endpoint, "--region", "us-east-1", "--verbose", "sync-assets", "--bucket", bucket, "--dir", tree, "--no-invalidate"], project);
    const aws = (bucket: string) => timed(awsCli, ["--endpoint-url", server.endpoint, "s3", "sync", tree, `s3://${bucket}/assets/`, "--only-show-errors"]);
    for (let run = 0; run < runs; run += 1) {
      for (const name of [`lamp-${run}`, `aws-${run}`, `ceiling-${run}`]) await admin.send(new CreateBucketCommand({ Bucket: name }));
      // Alternate the order so neither tool always runs on a warmer server.
      const order = run % 2 === 0 ? ["lamp", "aws", "ceiling"] : ["ceiling", "aws", "lamp"];
      for (const tool of order) {
        if (tool === "lamp") results.lampFirst.push(lamp(`lamp-${run}`));
        if (tool === "aws") results.awsFirst.push(aws(`aws-${run}`));
        if (tool === "ceiling") results.ceiling.push(timed(process.execPath, [path.join(repo, "bench/sync-ceiling.mjs"), "upload", server.endpoint, `ceiling-${run}`, tree, "16"]));
      }
      // The no-ops alternate too: the one right after the first syncs meets the server and the disk still busy with them.
      for (const tool of run % 2 === 0 ? ["lamp", "aws"] : ["aws", "lamp"]) {
        if (tool === "lamp") results.lampNoop.push(lamp(`lamp-${run}`));
        else results.awsNoop.push(aws(`aws-${run}`));
      }
      results.listing.push(timed(process.execPath, [path.join(repo, "bench/sync-ceiling.mjs"), "list", server.endpoint, `lamp-${run}`]));
      // Where lamp's no-op goes: process start-ups, then each of its steps alone.
      startup.node.push(timed(process.execPath, ["-e", "0"]));
      startup.lamp.push(timed(process.execPath, [lampBin, "--version"]));
      phases.push(noopPhases(server.endpoint, `lamp-${run}`, project));
      console.log(
        `  run ${run + 1}: first sync lamp ${results.lampFirst.at(-1)!.toFixed(2)}s, aws ${results.awsFirst.at(-1)!.toFixed(2)}s, ceiling ${results.ceiling.at(-1)!.toFixed(2)}s; ` +
          `no-op lamp ${results.lampNoop.at(-1)!.toFixed(2)}s, aws ${results.awsNoop.at(-1)!.toFixed(2)}s, bare listing ${results.listing.at(-1)!.toFixed(2)}s`,
      );
    }
    admin.destroy();
    const [lampFirst, awsFirst, ceiling, lampNoop, awsNoop, listing] = [results.lampFirst, results.awsFirst, results.ceiling, results.lampNoop, results.awsNoop, results.listing].map(median) as [number, number, number, number, number, number];
    console.log("");
    console.log(`first sync   lamp ${lampFirst.toFixed(2)}s   aws s3 sync ${awsFirst.toFixed(2)}s   aws/lamp = ${(awsFirst / lampFirst).toFixed(2)}x   (target >= 1.00x)`);
    console.log(`first sync   lamp ${lampFirst.toFixed(2)}s   ceiling ${ceiling.toFixed(2)}s       lamp/ceiling = ${(lampFirst / ceiling).toFixed(2)}x   (target <= 1.30x)`);
    console.log(`no-op sync   lamp ${lampNoop.toFixed(2)}s   aws s3 sync ${awsNoop.toFixed(2)}s   aws/lamp = ${(awsNoop / lampNoop).toFixed(2)}x   (target >= 3.00x)`);
    console.log(`no-op sync   lamp ${lampNoop.toFixed(2)}s   bare listing ${listing.toFixed(2)}s  lamp/listing = ${(lampNoop / listing).toFixed(2)}x   (a full comparison's floor; lamp's no-op skips it after its own complete sync)`);
    const ms = (seconds: number[]) => Math.round(median(seconds) * 1000);
    const phase = (name: string) => median(phases.map((entry) => entry[name]!));
    console.log(
      `no-op steps  (median ms, each alone) node start ${ms(startup.node)}, lamp --version ${ms(startup.lamp)}; ` +
        `SDK import ${phase("sdkImport")}, lamp modules ${phase("lampModules")}, lamp.json ${phase("readLampJson")}, ` +
        `manifest conditional GET ${phase("conditionalGet")} (${phase("notModified") === 1 ? "304" : "changed"}), walk ${phase("walk")} (${phase("files")} files), ` +
        `hash cache ${phase("hashCache")} (${phase("fromCache")} hashes reused), digest ${phase("digest")}; not needed: listing ${phase("listing")} (${phase("keys")} keys)`,
    );
  } finally {
    stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
