/**
 * `lamp dev` vs nginx (fastcgi_pass to the same php-fpm configuration) vs `php -S`, serving the
 * same hello-world script with the same number of PHP workers, measured with wrk in the same run.
 * Rounds are interleaved (lamp, nginx, php -S, lamp, ...) because these machines are noisy;
 * each figure is the median of the rounds, printed with its ratio to the peers.
 *
 *   npm run bench:dev-server [-- --workers 4 --connections 8,16,64 --threads 1 --seconds 4 --rounds 3]
 *
 * Each connection count is measured in every round (lamp, nginx, php -S at -c8, then at -c16, ...),
 * so a burst of load on the shared machine hits all peers and all counts alike.
 *
 * Peers: `bash scripts/setup.sh --bench` installs nginx-light and wrk (Debian); php-fpm and php
 * come with the base setup. nginx runs without fastcgi_keep_conn: with kept-open connections
 * beyond the worker count php-fpm stalls them in its listen queue.
 *
 * Equal configuration: nginx's php-fpm is started by lamp's own code, with one pool per worker,
 * the extensions of Bref's layer only and the project read-only, as lamp dev runs it.
 *
 * Equal work: nginx passes PHP the same params lamp dev does (Bref's set, the two Lambda context
 * JSON documents of the same size, the forwarded headers), adds the same response header and logs
 * a line per request in batches as lamp dev does, so php-fpm and wrk do the same work behind both.
 * The two cores are shared by wrk, the front and php-fpm, so the CPU each uses per request is
 * printed too: it is what decides throughput.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../src/core/clock.js";
import { findPhpFpm } from "../src/project/php-fpm-binary.js";
import { startPhpFpm } from "../src/dev/php-fpm.js";
import { readOnlySupported } from "../src/dev/lambda-php.js";
import { localPhpBuild, selectExtensions } from "../src/dev/php-extensions.js";

const repo = fileURLToPath(new URL("../", import.meta.url));
const lampBin = path.join(repo, "bin/lamp.js");

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const workers = flag("workers", 4);
const connectionCounts = (() => {
  const index = process.argv.indexOf("--connections");
  return (index > 0 ? process.argv[index + 1]! : "8,16,64").split(",").map(Number);
})();
const threads = flag("threads", 1);
const seconds = flag("seconds", 4);
const rounds = flag("rounds", 3);

function need(binary: string, hint: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${binary} || ls /usr/sbin/${binary} 2>/dev/null`], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  if (!found) {
    console.error(`✖ ${binary} not found. ${hint}`);
    process.exit(1);
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child?: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the server exited (${child.exitCode})`);
    try {
      const response = await fetch(url);
      if ((await response.text()).includes("Hello")) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer`);
}

interface Result {
  rps: number;
  p99ms: number;
  errors: number;
  /** CPU the front process(es) used per 1,000 requests: robust to the machine's noise. */
  cpuMsPerThousand: number;
  /** CPU of php-fpm (master and workers) per 1,000 requests; for php -S, included in the front's. */
  phpCpuMsPerThousand: number;
  /** CPU of wrk itself per 1,000 requests. */
  wrkCpuMsPerThousand: number;
}

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** user + system CPU (ms) of a process and its descendants that are still alive. */
function cpuMs(pid: number): number {
  let total = 0;
  const visit = (id: number) => {
    try {
      const fields = readFileSync(`/proc/${id}/stat`, "utf8").split(") ")[1]!.split(" ");
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    } catch {
      return;
    }
    const children = spawnSync("pgrep", ["-P", String(id)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
    for (const child of children) visit(Number(child));
  };
  visit(pid);
  return total;
}

/** user + system CPU (ms) of this process's children that have been waited for (wrk runs). */
function childrenCpuMs(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks;
}

function wrk(url: string, connections: number, front: { pid: number; exclude?: number; php?: number }): Result {
  const before = cpuMs(front.pid) - (front.exclude ? cpuMs(front.exclude) : 0);
  const phpBefore = front.php ? cpuMs(front.php) : 0;
  const wrkBefore = childrenCpuMs();
  const run = spawnSync("wrk", [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", url], { encoding: "utf8" });
  // Read before the pgrep runs below, which would count as children too.
  const wrkAfter = childrenCpuMs();
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(run.stdout);
  const unit = p99?.[2] === "us" ? 0.001 : p99?.[2] === "s" ? 1000 : 1;
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(run.stdout)?.[1] ?? 0) + Number(/Socket errors: .*?timeout (\d+)/.exec(run.stdout)?.[1] ?? 0);
  const after = cpuMs(front.pid) - (front.exclude ? cpuMs(front.exclude) : 0);
  const phpAfter = front.php ? cpuMs(front.php) : 0;
  const requests = Number(/(\d+) requests in/.exec(run.stdout)?.[1] ?? 1);
  const perThousand = (ms: number) => (ms / requests) * 1000;
  return {
    rps,
    p99ms: Number(p99?.[1]) * unit,
    errors,
    cpuMsPerThousand: perThousand(after - before),
    phpCpuMsPerThousand: perThousand(phpAfter - phpBefore),
    wrkCpuMsPerThousand: perThousand(wrkAfter - wrkBefore),
  };
}

/**
 * What lamp dev sends php-fpm beyond nginx's fastcgi_params (see eventToFastCgiRequest), with
 * values of the same shape and size that change per request as lamp's do.
 */
function equalWorkParams(): string[] {
  const invocationContext =
    '{"awsRequestId":"$request_id","deadlineMs":${msec}000,"invokedFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:bench-web","traceId":"Root=1-$request_id"}';
  const requestContext =
    '{"accountId":"000000000000","apiId":"local","domainName":"$host","domainPrefix":"$host","http":{"method":"$request_method","path":"$uri",' +
    '"protocol":"$server_protocol","sourceIp":"$remote_addr","userAgent":"$http_user_agent"},"requestId":"$request_id","routeKey":"ANY /",' +
    '"stage":"${dollar}default","time":"$time_local","timeEpoch":${msec}000}';
  return [
    "      fastcgi_param PATH_INFO $uri;",
    `      fastcgi_param LAMBDA_INVOCATION_CONTEXT '${invocationContext}';`,
    `      fastcgi_param LAMBDA_REQUEST_CONTEXT '${requestContext}';`,
    "      fastcgi_param HTTP_X_FORWARDED_FOR $remote_addr;",
    "      fastcgi_param HTTP_X_FORWARDED_PORT $server_port;",
    "      fastcgi_param HTTP_X_FORWARDED_PROTO $scheme;",
    "      fastcgi_param HTTP_X_AMZN_TRACE_ID Root=1-$request_id;",
    "      fastcgi_param HTTP_X_FORWARDED_HOST $http_host;",
  ];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const phpFpm = findPhpFpm(undefined, process.env);
  const nginx = need("nginx", "Install the peers: bash scripts/setup.sh --bench");
  need("wrk", "Install the peers: bash scripts/setup.sh --bench");
  const php = need("php", "Install php-cli (bash scripts/setup.sh).");

  const root = await mkdtemp(path.join(tmpdir(), "lamp-bench-dev-"));
  const children: ChildProcess[] = [];
  let stopFpm: (() => Promise<void>) | undefined;
  const cleanup = async () => {
    // php -S forks its workers (PHP_CLI_SERVER_WORKERS), which outlive a parent killed alone: each child gets its own
    // process group (detached), and the whole group is stopped.
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once("exit", resolve)) : undefined)));
    await stopFpm?.();
    await rm(root, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

  try {
    await mkdir(path.join(root, "public"));
    await mkdir(path.join(root, "assets"));
    await writeFile(path.join(root, "public/index.php"), '<?php\necho "Hello world";\n');
    await writeFile(path.join(root, "lamp.json"), JSON.stringify({ stackName: "bench", region: "us-east-1" }));

    // lamp dev, as a user runs it (its one log line per request goes to /dev/null, not a pipe we must drain).
    const lampPort = await freePort();
    const lamp = spawn(process.execPath, [lampBin, "dev", "--port", String(lampPort), "--workers", String(workers), "--php-fpm", phpFpm], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, NO_COLOR: "1" },
      detached: true,
    });
    children.push(lamp);

    // nginx -> the same php-fpm configuration lamp dev generates: one pool per worker, Bref's
    // extensions only (not all of the distribution's, which cost PHP time on every request), the
    // project mounted read-only where the system allows it.
    const build = await localPhpBuild(phpFpm);
    const extensionIniFiles = build.scanDir ? (await selectExtensions(build, [], build.version)).iniFiles : undefined;
    const fpm = await startPhpFpm({
      binary: phpFpm, workers, cwd: root, env: process.env, clock: systemClock, onLog: () => {}, onExit: () => {},
      extensionIniFiles, readOnlyRoot: readOnlySupported() ? root : undefined,
    });
    stopFpm = fpm.stop;
    const nginxPort = await freePort();
    const nginxDir = path.join(root, "nginx");
    await mkdir(nginxDir);
    await writeFile(
      path.join(nginxDir, "nginx.conf"),
      [
        "daemon off;",
        // As root, nginx workers would drop to www-data and could not open php-fpm's 0600 socket.
        ...(process.getuid?.() === 0 ? ["user root;"] : []),
        "worker_processes 1;",
        `pid ${nginxDir}/nginx.pid;`,
        `error_log ${nginxDir}/error.log warn;`,
        "events { worker_connections 1024; }",
        "http {",
        // A line per request, written in batches, as lamp dev logs (to the same /dev/null).
        "  log_format lamp '$request_method $uri $status $request_time';",
        "  access_log /dev/null lamp buffer=64k flush=50ms;",
        // Lets a literal `$` (the stage name `$default`) appear in a param value.
        '  geo $dollar { default "$"; }',
        `  client_body_temp_path ${nginxDir}/body; fastcgi_temp_path ${nginxDir}/fastcgi; proxy_temp_path ${nginxDir}/proxy;`,
        `  uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;`,
        // One pool (socket) per worker, as lamp dev runs php-fpm: nginx sends each request to the least busy.
        `  upstream php { least_conn; ${fpm.socketPaths.map((socketPath) => `server unix:${socketPath};`).join(" ")} }`,
        `  server { listen 127.0.0.1:${nginxPort};`,
        "    location / {",
        "      include /etc/nginx/fastcgi_params;",
        `      fastcgi_param SCRIPT_FILENAME ${root}/public/index.php;`,
        ...equalWorkParams(),
        "      add_header apigw-requestid $request_id;",
        "      fastcgi_pass php;",
        "    }",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    const nginxProcess = spawn(nginx, ["-c", path.join(nginxDir, "nginx.conf"), "-p", nginxDir], { stdio: ["ignore", "ignore", "inherit"], detached: true });
    children.push(nginxProcess);

    // php -S with the same number of workers (PHP_CLI_SERVER_WORKERS).
    const phpPort = await freePort();
    const phpServer = spawn(php, ["-S", `127.0.0.1:${phpPort}`, path.join(root, "public/index.php")], {
      cwd: root,
      stdio: ["ignore", "ignore", "ignore"],
      env: { ...process.env, PHP_CLI_SERVER_WORKERS: String(workers) },
      detached: true,
    });
    children.push(phpServer);

    const peers = [
      { name: "lamp dev", url: `http://127.0.0.1:${lampPort}/`, child: lamp },
      { name: "nginx + php-fpm", url: `http://127.0.0.1:${nginxPort}/`, child: nginxProcess },
      { name: "php -S", url: `http://127.0.0.1:${phpPort}/`, child: phpServer },
    ];
    // The proxy's own CPU: lamp's node process without its php-fpm, nginx's master and worker.
    const lampFpmPid = () => Number(spawnSync("pgrep", ["-P", String(lamp.pid)], { encoding: "utf8" }).stdout.trim().split("\n")[0]);
    for (const peer of peers) await waitForHttp(peer.url, peer.child).catch((error: Error) => Promise.reject(new Error(`${peer.name}: ${error.message}`)));
    console.log(
      `hello world, ${workers} PHP workers, wrk -t${threads} -c${connectionCounts.join("/")} -d${seconds}s, ${rounds} interleaved rounds (median), ` +
        `load ${loadavg().map((value) => value.toFixed(2)).join(" ")}\n`,
    );
    // Warm-up: opcache, connection pools, JIT.
    for (const peer of peers) spawnSync("wrk", [`-t${threads}`, `-c${Math.max(...connectionCounts)}`, "-d1s", peer.url]);

    const key = (name: string, connections: number) => `${name} -c${connections}`;
    const results = new Map<string, Result[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const connections of connectionCounts) {
        for (const peer of peers) {
          const front =
            peer.name === "lamp dev"
              ? { pid: lamp.pid!, exclude: lampFpmPid(), php: lampFpmPid() }
              : peer.name === "nginx + php-fpm"
                ? { pid: peer.child.pid!, php: fpm.pid }
                : { pid: peer.child.pid! };
          const result = wrk(peer.url, connections, front);
          const list = results.get(key(peer.name, connections)) ?? [];
          list.push(result);
          results.set(key(peer.name, connections), list);
          console.log(
            `  round ${round} -c${String(connections).padEnd(3)} ${peer.name.padEnd(16)} ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99ms.toFixed(2).padStart(6)} ms  ` +
              `CPU ms/1k req: front ${result.cpuMsPerThousand.toFixed(0).padStart(4)}, php-fpm ${result.phpCpuMsPerThousand.toFixed(0).padStart(3)}, wrk ${result.wrkCpuMsPerThousand.toFixed(0).padStart(3)}` +
              (result.errors ? `  (${result.errors} errors)` : ""),
          );
        }
      }
    }
    const summary = (name: string, connections: number) => {
      const list = results.get(key(name, connections))!;
      return {
        rps: median(list.map((result) => result.rps)),
        p99: median(list.map((result) => result.p99ms)),
        cpu: median(list.map((result) => result.cpuMsPerThousand)),
        php: median(list.map((result) => result.phpCpuMsPerThousand)),
        wrk: median(list.map((result) => result.wrkCpuMsPerThousand)),
      };
    };
    for (const connections of connectionCounts) {
      console.log(`\n-c${connections}`);
      for (const peer of peers) {
        const result = summary(peer.name, connections);
        console.log(
          `  ${peer.name.padEnd(16)} ${result.rps.toFixed(0).padStart(7)} req/s   p99 ${result.p99.toFixed(2).padStart(6)} ms   ` +
            `CPU per 1,000 requests: front ${result.cpu.toFixed(0).padStart(4)} ms, php-fpm ${result.php.toFixed(0).padStart(3)} ms, wrk ${result.wrk.toFixed(0).padStart(3)} ms`,
        );
      }
    }
    console.log("");
    for (const connections of connectionCounts) {
      const lampResult = summary("lamp dev", connections);
      const nginxResult = summary("nginx + php-fpm", connections);
      const phpResult = summary("php -S", connections);
      console.log(
        `-c${String(connections).padEnd(3)} lamp dev / nginx + php-fpm: ${(lampResult.rps / nginxResult.rps).toFixed(2)}x throughput (target >= 0.9x), ` +
          `${(lampResult.p99 / nginxResult.p99).toFixed(2)}x p99, ${(lampResult.cpu / nginxResult.cpu).toFixed(2)}x front CPU per request; ` +
          `/ php -S: ${(lampResult.rps / phpResult.rps).toFixed(2)}x throughput`,
      );
    }
    console.log(`load after: ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  } finally {
    await cleanup();
  }
}

await main();
