/**
 * Static files of the document root: `lamp dev` serving a stylesheet of public/ before PHP, next to
 * nginx serving the same file (the WordPress-style configuration of test/router/fixtures) and next
 * to what every such request cost before lamp served them: a trip through PHP (the router running a
 * script that sends the file, as a Lambda-only setup must). Interleaved rounds, medians, wrk.
 *
 *   npm run bench:static-files [-- --threads 2 --connections 16 --seconds 4 --rounds 3]
 *
 * Peers: `bash scripts/setup.sh --bench` installs wrk; nginx and php-fpm come with the base setup.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findPhpFpm } from "../src/project/php-fpm-binary.js";
import { startReferenceServer } from "../test/router/nginx.js";
import { flag, lampBin, seeded } from "./common.js";

const connections = flag("connections", 16);
const threads = flag("threads", 2);
const seconds = flag("seconds", 4);
const rounds = flag("rounds", 3);

if (spawnSync("sh", ["-c", "command -v wrk"]).status !== 0) {
  console.error("✖ wrk not found. Install the peers: bash scripts/setup.sh --bench");
  process.exit(1);
}

function wrk(url: string): { rps: number; p99ms: number; errors: number } {
  const run = spawnSync("wrk", [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", url], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr}`);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(run.stdout);
  const unit = p99?.[2] === "us" ? 0.001 : p99?.[2] === "s" ? 1000 : 1;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1]),
    p99ms: Number(p99?.[1]) * unit,
    errors: Number(/Non-2xx or 3xx responses: (\d+)/.exec(run.stdout)?.[1] ?? 0),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const work = await mkdtemp(path.join(tmpdir(), "lamp-bench-static-"));
const children: ReturnType<typeof spawn>[] = [];
let stopReference: (() => Promise<void>) | undefined;
try {
  const root = path.join(work, "site");
  const css = path.join(root, "public", "wp-includes", "css");
  await mkdir(css, { recursive: true });
  // 30 KB of stylesheet-like text, the same bytes every run.
  const random = seeded(7);
  const rules = Array.from({ length: 600 }, (_, index) => `.rule-${index}{margin:${Math.floor(random() * 40)}px;color:#${Math.floor(random() * 0xffffff).toString(16).padStart(6, "0")}}`);
  await writeFile(path.join(css, "style.css"), `${rules.join("\n")}\n`);
  // The same bytes under /assets/ (the assets folder, the bucket's /assets/* behaviour).
  await mkdir(path.join(root, "assets"), { recursive: true });
  await writeFile(path.join(root, "assets", "style.css"), `${rules.join("\n")}\n`);
  await writeFile(path.join(root, "public", "index.php"), "<?php echo 'Hello';\n");
  // What each stylesheet request cost without static serving: PHP sends the file.
  await writeFile(path.join(root, "public", "style.php"), "<?php header('Content-Type: text/css; charset=utf-8'); readfile(__DIR__ . '/wp-includes/css/style.css');\n");
  await writeFile(path.join(root, "lamp.json"), JSON.stringify({ stackName: "bench", region: "eu-west-1", router: true }));

  const phpFpm = findPhpFpm(undefined, process.env);
  const lamp = spawn(process.execPath, [lampBin, "dev", "--port", "0", "--workers", "4", "--php-fpm", phpFpm], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  children.push(lamp);
  const lampUrl = await new Promise<string>((resolve, reject) => {
    let seen = "";
    lamp.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(seen);
      if (match) resolve(match[0]);
    });
    lamp.once("exit", (code) => reject(new Error(`lamp dev exited (${code})`)));
  });
  lamp.stdout!.resume();
  const reference = await startReferenceServer({ phpFpm, documentRoot: path.join(root, "public"), projectRoot: root });
  stopReference = reference.stop;

  const peers = [
    { name: "lamp dev, static", url: `${lampUrl}/wp-includes/css/style.css` },
    { name: "lamp dev, /assets/", url: `${lampUrl}/assets/style.css` },
    { name: "nginx, static", url: `${reference.url}/wp-includes/css/style.css` },
    { name: "lamp dev, through PHP", url: `${lampUrl}/style.php` },
  ];
  for (const peer of peers) {
    const response = await fetch(peer.url);
    if (response.status !== 200 || (await response.text()).length < 20_000) throw new Error(`${peer.name}: ${peer.url} answered ${response.status}`);
  }
  console.log(`a 30 KB stylesheet, wrk -t${threads} -c${connections} -d${seconds}s, ${rounds} interleaved rounds (median)\n`);
  const results = new Map<string, { rps: number[]; p99: number[] }>(peers.map((peer) => [peer.name, { rps: [], p99: [] }]));
  for (let round = 1; round <= rounds; round++) {
    for (const peer of peers) {
      const result = wrk(peer.url);
      if (result.errors > 0) throw new Error(`${peer.name}: ${result.errors} non-2xx answers`);
      results.get(peer.name)!.rps.push(result.rps);
      results.get(peer.name)!.p99.push(result.p99ms);
      console.log(`  round ${round}  ${peer.name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s  p99 ${result.p99ms.toFixed(2).padStart(6)} ms`);
    }
  }
  const summary = (name: string) => ({ rps: median(results.get(name)!.rps), p99: median(results.get(name)!.p99) });
  console.log("");
  for (const peer of peers) console.log(`${peer.name.padEnd(22)} ${summary(peer.name).rps.toFixed(0).padStart(6)} req/s   p99 ${summary(peer.name).p99.toFixed(2).padStart(6)} ms`);
  const staticLamp = summary("lamp dev, static");
  console.log("");
  console.log(`lamp dev static / nginx static:         ${(staticLamp.rps / summary("nginx, static").rps).toFixed(2)}x throughput`);
  console.log(`lamp dev /assets/ / nginx static:          ${(summary("lamp dev, /assets/").rps / summary("nginx, static").rps).toFixed(2)}x throughput`);
  console.log(`lamp dev static / lamp dev through PHP: ${(staticLamp.rps / summary("lamp dev, through PHP").rps).toFixed(2)}x throughput`);
} finally {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once("exit", resolve)) : undefined)));
  await stopReference?.();
  await rm(work, { recursive: true, force: true });
}
