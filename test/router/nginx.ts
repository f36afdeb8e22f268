import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../../src/core/clock.js";
import { startPhpFpm, type PhpFpmProcess } from "../../src/dev/php-fpm.js";
import { nginxUserDirective, spawnNginx, type NginxProcess } from "../helpers/nginx.js";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ReferenceServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * The reference server: Debian's nginx with the WordPress-style configuration in
 * fixtures/nginx-wordpress.conf, in front of a php-fpm started as lamp dev starts it.
 */
export async function startReferenceServer(options: { phpFpm: string; documentRoot: string; projectRoot: string; env?: NodeJS.ProcessEnv }): Promise<ReferenceServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lamp-nginx-"));
  let fpm: PhpFpmProcess | undefined;
  let nginx: NginxProcess | undefined;
  const stop = async () => {
    await nginx?.stop();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    fpm = await startPhpFpm({
      binary: options.phpFpm,
      workers: 2,
      cwd: options.projectRoot,
      env: options.env ?? process.env,
      clock: systemClock,
      onLog: () => {},
      onExit: () => {},
    });
    // A few tries: another process may take the port between freePort() and nginx's bind.
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const template = readFileSync(fileURLToPath(new URL("./fixtures/nginx-wordpress.conf", import.meta.url)), "utf8");
      const values: Record<string, string> = {
        user: nginxUserDirective(),
        dir,
        port: String(port),
        documentRoot: options.documentRoot,
        servers: fpm.socketPaths.map((socketPath) => `server unix:${socketPath};`).join(" "),
      };
      nginx = spawnNginx(dir, template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key]!));
      const stderr: Buffer[] = [];
      nginx.child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
      const url = `http://127.0.0.1:${port}`;
      const started = await waitUntilListening(port, nginx.child);
      if (started) return { url, stop };
      const log = Buffer.concat(stderr).toString() + (existsSync(path.join(dir, "error.log")) ? readFileSync(path.join(dir, "error.log"), "utf8") : "");
      if (attempt >= 3 || !/Address already in use/.test(log)) throw new Error(`nginx did not start: ${log}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilListening(port: number, child: NginxProcess["child"]): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (connected) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
