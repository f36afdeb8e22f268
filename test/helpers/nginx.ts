import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Debian's nginx as the tests' reference server: the classic server lamp dev's answers are compared
 * with. Each test writes its own configuration into a temp folder.
 */
export const nginxBinary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].find((candidate) => existsSync(candidate));

/** nginx's path, or undefined (with a loud warning naming `what` is skipped) when it is missing outside CI. */
export function nginxForTests(what = "the nginx comparison tests"): string | undefined {
  if (nginxBinary) return nginxBinary;
  const message = "nginx not found in /usr/sbin, /usr/local/sbin or /usr/bin: install Debian's nginx-light (bash scripts/setup.sh).";
  if (process.env.CI) throw new Error(`nginx is required in CI for ${what}: ${message}`);
  console.warn(`\n⚠⚠⚠ SKIPPING ${what}: ${message} ⚠⚠⚠\n`);
  return undefined;
}

/** `{{user}}` in a configuration: as root (CI), workers would drop to nobody, who cannot open php-fpm's 0600 socket. */
export function nginxUserDirective(): string {
  return process.getuid?.() === 0 ? "user root;" : "";
}

export interface NginxProcess {
  child: ChildProcess;
  /** SIGTERM, resolved when nginx has exited (at once if it already had). */
  stop(): Promise<void>;
}

/** Writes `config` to `dir`/nginx.conf and starts nginx in the foreground with `dir` as its prefix. */
export function spawnNginx(dir: string, config: string): NginxProcess {
  if (!nginxBinary) throw new Error("nginx is not installed");
  writeFileSync(path.join(dir, "nginx.conf"), config);
  const child = spawn(nginxBinary, ["-c", path.join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { child, stop };
}
