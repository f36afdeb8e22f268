/**
 * How long `lamp dev` takes to start: from the command to the URL line on stdout, for a project
 * made by `lamp init` (no database), in interleaved runs. With `--compare <dir>`, a second lamp
 * checkout (its bin/lamp.js, built) is timed in the same rounds, e.g. the code before a change.
 *
 *   npm run bench:dev-start [-- --runs 7 --compare /path/to/other/checkout]
 *
 * The first run of each warms the page cache and lamp's own caches (the PHP build's facts, the
 * user-namespace probe); it is printed but left out of the median, which is what a developer
 * restarting `lamp dev` sees.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { flag, lampBin } from "./common.js";

const runs = flag("runs", 7);
const compareIndex = process.argv.indexOf("--compare");
const compare = compareIndex > 0 ? path.join(process.argv[compareIndex + 1]!, "bin/lamp.js") : undefined;

function run(bin: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    let err = "";
    let elapsed: number | undefined;
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      if (elapsed === undefined && out.includes("http://")) {
        elapsed = performance.now() - started;
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
    child.once("exit", (code) => (elapsed !== undefined ? resolve(elapsed) : reject(new Error(`lamp dev exited (${code}) before its URL line: ${err}`))));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const root = await mkdtemp(path.join(tmpdir(), "lamp-bench-start-"));
try {
  const project = path.join(root, "app");
  await run(lampBin, ["init", "--no-database", project], root).catch(() => 0);
  const peers = [{ name: "this checkout", bin: lampBin }, ...(compare ? [{ name: "compared", bin: compare }] : [])];
  const times = new Map<string, number[]>(peers.map((peer) => [peer.name, []]));
  console.log(`lamp dev start (command -> URL line), lamp init project without database, ${runs} interleaved runs, load ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  for (let round = 0; round <= runs; round++) {
    for (const peer of peers) {
      const ms = await run(peer.bin, ["dev", "--port", "0"], project);
      if (round > 0) times.get(peer.name)!.push(ms);
      console.log(`  ${round === 0 ? "warm-up" : `run ${round}`.padEnd(7)}  ${peer.name.padEnd(14)} ${ms.toFixed(0).padStart(5)} ms`);
    }
  }
  console.log("");
  for (const peer of peers) {
    const list = times.get(peer.name)!;
    console.log(`${peer.name.padEnd(14)} median ${median(list).toFixed(0)} ms (min ${Math.min(...list).toFixed(0)}, max ${Math.max(...list).toFixed(0)})`);
  }
  console.log(`load after: ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
