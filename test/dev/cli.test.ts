import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLampDev as startLampDevIn } from "../helpers/lamp-dev.js";
import { lampBin, runLamp } from "../helpers/run-lamp.js";
import { childPids, copyFixtureApp, isRunning, phpFpmForTests, workerPids } from "./helpers.js";

const phpFpm = phpFpmForTests();

/** `lamp dev` in `cwd`; TMPDIR: where lamp dev makes its run's folder, so a test can see that nothing is left there. */
const startLampDev = (cwd: string, tmp?: string) => startLampDevIn(cwd, ["--port", "0", "--workers", "2"], { TMPDIR: tmp });

describe.skipIf(!phpFpm)("`lamp init demo --yes && cd demo && lamp dev`", () => {
  let scratch: string;
  let demo: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lamp-dev-cli-"));
    demo = path.join(scratch, "demo");
    const init = await runLamp(["init", demo, "--yes"]);
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("--json: stdout is one JSON document, however many requests are logged (the log goes to stderr)", async () => {
    const child = spawn(process.execPath, [lampBin, "dev", "--json", "--port", "0", "--workers", "1"], { cwd: demo, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await expect.poll(() => /lamp dev: (http:\/\/\S+)/.exec(stderr)?.[1], { timeout: 20_000 }).toBeTruthy();
      const url = /lamp dev: (http:\/\/\S+)/.exec(stderr)![1]!;
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/assets/style.css`)).status).toBe(200);
      await expect.poll(() => stderr).toMatch(/GET \/assets\/style\.css 200/);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exit).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), workers: 1 });
    expect(stderr).toMatch(/GET \/ 200 \d+ms/);
  });

  it.each(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const)("serves the sample page, its stylesheet and image, and %s stops everything", async (signal) => {
    const tmp = mkdtempSync(path.join(scratch, "tmp-"));
    const run = await startLampDev(demo, tmp);
    try {
      const page = await fetch(`${run.url}/?name=Ada`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("Hello, Ada!");
      expect(html).toContain("under <code>lamp dev</code>");
      expect(html).toContain('href="/assets/style.css"');
      const css = await fetch(`${run.url}/assets/style.css`);
      expect(css.status).toBe(200);
      expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
      const logo = await fetch(`${run.url}/assets/logo.svg`);
      expect(logo.status).toBe(200);
      expect(logo.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    } finally {
      const fpm = childPids(run.child.pid!);
      expect(fpm.length).toBe(1);
      const children = fpm.flatMap(childPids);
      expect(workerPids(fpm[0]!).length).toBe(2);
      expect(readdirSync(tmp).length).toBe(1);
      run.child.kill(signal);
      expect(await run.exit).toBe(0);
      expect(run.output()).toMatch(/GET \/ 200 \d+ms\nGET \/assets\/style.css 200 \d+ms/);
      // The URL is the result, on stdout; the banner and the stop line are about the run, on stderr.
      expect(run.stdout()).toMatch(/^✔ lamp dev: http:\/\/127\.0\.0\.1:\d+\n/);
      expect(run.stdout()).not.toContain("Ctrl-C to stop");
      expect(run.stderr()).toContain("Stopped php-fpm and the dev server.");
      // The template's Timeout is 28 s: Bref stops PHP a second before it.
      expect(run.stderr()).toContain("PHP stopped after 27 s");
      for (const pid of [...fpm, ...children]) expect(isRunning(pid), `process ${pid}`).toBe(false);
      expect(readdirSync(tmp)).toEqual([]);
    }
  });

  it.each(["SIGKILL", "SIGSEGV"] as const)("php-fpm dying (%s to its master) ends lamp dev with one line and a non-zero exit; no worker or temp folder is left", async (signal) => {
    const tmp = mkdtempSync(path.join(scratch, "tmp-"));
    const run = await startLampDev(demo, tmp);
    const [master] = childPids(run.child.pid!);
    await expect.poll(() => workerPids(master!).length).toBe(2);
    const children = childPids(master!);
    expect((await fetch(`${run.url}/`)).status).toBe(200);
    process.kill(master!, signal);
    expect(await run.exit).toBe(1);
    const errors = run.output().split("\n").filter((line) => line.startsWith("✖") || /^\s+at /.test(line));
    expect(errors).toEqual([`✖ php-fpm exited unexpectedly (${signal}): lamp dev stopped. Check the PHP output above.`]);
    for (const pid of children) expect(isRunning(pid), `process ${pid}`).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("SIGKILL of lamp itself: its watchdog takes php-fpm, every worker and the temp folder with it", async () => {
    const tmp = mkdtempSync(path.join(scratch, "tmp-"));
    const run = await startLampDev(demo, tmp);
    const [master] = childPids(run.child.pid!);
    await expect.poll(() => workerPids(master!).length).toBe(2);
    const group = [master!, ...childPids(master!)];
    run.child.kill("SIGKILL");
    await run.exit;
    await expect.poll(() => group.filter(isRunning), { timeout: 5000 }).toEqual([]);
    await expect.poll(() => readdirSync(tmp), { timeout: 5000 }).toEqual([]);
  });

  it("a --php-fpm that does not exist is one readable line and a non-zero exit", async () => {
    const run = await runLamp(["dev", "--php-fpm", "/nonexistent/php-fpm"], { cwd: demo });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--php-fpm /nonexistent/php-fpm: no executable file there.");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("outside a project: a config error, exit code 3", async () => {
    const run = await runLamp(["dev"], { cwd: scratch });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("No lamp.json");
  });

  it("rejects a bad --port", async () => {
    const run = await runLamp(["dev", "--port", "http"], { cwd: demo });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--port must be a whole number from 0 to 65535, not "http".');
  });
});

/** The most memory the process has held (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match![1]) / 1024;
}

describe.skipIf(!phpFpm || process.platform !== "linux")("lamp dev's memory stays bounded (the built bin, RSS read from /proc)", () => {
  let app: ReturnType<typeof copyFixtureApp>;
  let run: Awaited<ReturnType<typeof startLampDev>>;
  let baseline: number;

  beforeAll(async () => {
    app = copyFixtureApp();
    run = await startLampDev(app.root);
    expect((await fetch(`${run.url}/status/200`)).status).toBe(200);
    expect((await fetch(`${run.url}/huge?mb=1`)).status).toBe(200);
    baseline = peakRssMb(run.child.pid!);
  });
  afterAll(async () => {
    run?.child.kill("SIGTERM");
    await run?.exit;
    app?.remove();
  });

  it("PHP printing 300 MB: 500 as in production, and lamp stops reading at Lambda's 6 MB instead of holding it all", async () => {
    const response = await fetch(`${run.url}/huge?mb=300`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
    expect(run.output()).toContain("GET /huge: response over Lambda's 6 MB payload limit");
    expect(peakRssMb(run.child.pid!) - baseline).toBeLessThan(100);
    // The worker that was writing is replaced: the next request works.
    expect((await fetch(`${run.url}/status/200`)).status).toBe(200);
  });

  it("a client pipelining 400 requests for 1 MB pages without reading the answers: lamp's memory stays flat", async () => {
    const socket = net.connect(Number(new URL(run.url).port), "127.0.0.1");
    try {
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.pause();
      socket.write("GET /huge?mb=1 HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(400));
      // Time for a server without backpressure to answer hundreds of them into its write queue.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(peakRssMb(run.child.pid!) - baseline).toBeLessThan(100);
    } finally {
      socket.destroy();
    }
    expect((await fetch(`${run.url}/status/200`)).status).toBe(200);
  });
});
