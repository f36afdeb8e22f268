import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startPhpFpm, type PhpFpmProcess } from "../../src/dev/php-fpm.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext } from "../helpers/context.js";
import { nginxForTests, nginxUserDirective, spawnNginx, type NginxProcess } from "../helpers/nginx.js";
import { writeNewProject } from "../helpers/new-project.js";
import { phpFpmForTests } from "./helpers.js";

/**
 * Two real third-party apps (Debian's Slim 3, and Symfony 5.4's HttpFoundation + Routing) in a new
 * project: under `lamp dev` with the runtime layer, their redirects, absolute URLs, form POSTs and
 * cookies are those nginx + php-fpm gives them for the same browser request. Without the layer, they
 * see the API Gateway host, as they will in Lambda. One nginx and one php-fpm for the whole file.
 */

const phpFpm = phpFpmForTests();
const fixtures = fileURLToPath(new URL("./fixtures/parity/", import.meta.url));
const nginxBinary = nginxForTests("the Slim/Symfony parity tests");
const haveApps = existsSync("/usr/share/php/Slim/autoload.php") && existsSync("/usr/share/php/Symfony/Component/Routing/autoload.php");
if (process.env.CI && !haveApps) throw new Error("php-slim and php-symfony-routing are required in CI (scripts/setup.sh installs them)");
if (!haveApps) console.warn("\n⚠⚠⚠ SKIPPING the Slim/Symfony parity tests: php-slim or the Symfony components are missing. Run scripts/setup.sh. ⚠⚠⚠\n");

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request, to a TCP URL or a unix socket, headers exactly as given (Host included). */
function request(target: { url: string } | { socketPath: string }, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const where = "url" in target ? { hostname: new URL(target.url).hostname, port: new URL(target.url).port } : { socketPath: target.socketPath };
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ ...where, method: options.method ?? "GET", path: options.path, headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

/** A new project whose front controller is the app; with or without the runtime layer. */
async function appProject(app: "slim" | "symfony", layer: boolean) {
  const project = await writeNewProject({ name: `${app}-app` });
  writeFileSync(path.join(project.root, "public", "index.php"), readFileSync(path.join(fixtures, `${app}.php`)));
  if (!layer) unlinkSync(path.join(project.root, "php", "conf.d", "lamp.ini"));
  return project;
}

describe.skipIf(!phpFpm || !nginxBinary || !haveApps)("Slim and Symfony apps: lamp dev with the runtime layer answers as nginx + php-fpm does", () => {
  const cleanups: Array<() => unknown> = [];
  const servers: Record<string, DevServer> = {};
  const sockets: Record<string, string> = {};
  let nginx: NginxProcess;
  let fpm: PhpFpmProcess;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lamp-nginx-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const roots: Record<string, string> = {};
    for (const app of ["slim", "symfony"] as const) {
      for (const layer of [true, false]) {
        const project = await appProject(app, layer);
        cleanups.push(() => project.remove());
        const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
        const server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
        cleanups.push(() => server.close());
        servers[`${app}-${layer ? "on" : "off"}`] = server;
        if (layer) roots[app] = project.root;
      }
    }
    // The reference serves the same folders, as a classic server: no layer, no Lambda.
    fpm = await startPhpFpm({ binary: phpFpm!, workers: 1, cwd: dir, env: { PATH: process.env.PATH }, clock: systemClock, onLog: () => {}, onExit: () => {} });
    cleanups.push(() => fpm.stop());
    const config = readFileSync(path.join(fixtures, "nginx.conf"), "utf8")
      .replaceAll("{{dir}}", dir)
      .replaceAll("{{slimRoot}}", roots.slim!)
      .replaceAll("{{symfonyRoot}}", roots.symfony!)
      .replaceAll("{{fpmSocket}}", fpm.socketPaths[0]!)
      .replaceAll("{{user}}", nginxUserDirective());
    nginx = spawnNginx(dir, config);
    cleanups.push(() => nginx.stop());
    sockets.slim = path.join(dir, "slim.sock");
    sockets.symfony = path.join(dir, "symfony.sock");
    for (let attempt = 0; !(existsSync(sockets.slim) && existsSync(sockets.symfony)); attempt++) {
      if (nginx.child.exitCode !== null || attempt > 500) throw new Error("nginx did not start");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  describe.each(["slim", "symfony"] as const)("%s", (app) => {
    /** The same browser request to lamp dev (layer on) and to nginx, with the Host the browser sent lamp dev. */
    const both = async (options: { method?: string; path: string; headers?: Record<string, string>; body?: string }) => {
      const server = servers[`${app}-on`]!;
      const host = `127.0.0.1:${server.port}`;
      const dev = await request(server, { ...options, headers: { Host: host, ...options.headers } });
      const reference = await request({ socketPath: sockets[app]! }, { ...options, headers: { Host: host, ...options.headers } });
      return { dev, reference, host };
    };

    it("redirects to the same absolute URL", async () => {
      const { dev, reference, host } = await both({ path: "/old" });
      expect(reference.status).toBe(301);
      expect(reference.headers.location).toBe(`http://${host}/new`);
      expect(dev.status).toBe(reference.status);
      expect(dev.headers.location).toBe(reference.headers.location);
    });

    it("builds the same absolute URLs, scheme and host", async () => {
      const { dev, reference, host } = await both({ path: "/link" });
      const [seenByDev, seenByNginx] = [JSON.parse(dev.body), JSON.parse(reference.body)];
      expect(seenByNginx.url).toBe(`http://${host}/link`);
      // nginx listens on a unix socket here, so its client address is not comparable; lamp dev's is the browser's.
      delete seenByNginx.clientIp;
      expect(seenByDev).toMatchObject(seenByNginx);
      expect(seenByDev.clientIp).toBe("127.0.0.1");
    });

    it("answers a form POST with the same redirect and cookie, and reads the cookie back", async () => {
      const form = { method: "POST", path: "/form", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "name=Ann+Lee" };
      const { dev, reference, host } = await both(form);
      expect(reference.status).toBe(303);
      expect(reference.headers.location).toMatch(new RegExp(`^http://${host.replace(/\./g, "\\.")}/thanks\\?name=Ann`));
      expect(dev.status).toBe(303);
      expect(dev.headers.location).toBe(reference.headers.location);
      expect(dev.headers["set-cookie"]).toEqual(reference.headers["set-cookie"]);
      const cookie = reference.headers["set-cookie"]![0]!.split(";", 1)[0]!;
      const thanks = await both({ path: new URL(reference.headers.location!).pathname + new URL(reference.headers.location!).search, headers: { Cookie: cookie } });
      expect(thanks.reference.body).toBe("thanks Ann Lee, cookie Ann Lee");
      expect(thanks.dev.body).toBe(thanks.reference.body);
    });

    it("never takes a browser's forged X-Forwarded-Host or X-Forwarded-For as the truth", async () => {
      const server = servers[`${app}-on`]!;
      const forged = await request(server, { path: "/link", headers: { "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https" } });
      const seen = JSON.parse(forged.body);
      expect(seen).toMatchObject({ host: "127.0.0.1", scheme: "http", clientIp: "127.0.0.1" });
      const redirect = await request(server, { path: "/old", headers: { "X-Forwarded-Host": "evil.example" } });
      expect(redirect.headers.location).toBe(`http://127.0.0.1:${server.port}/new`);
    });

    it("without the layer, sees the API Gateway host, as it will in Lambda", async () => {
      const server = servers[`${app}-off`]!;
      const redirect = await request(server, { path: "/old" });
      expect(new URL(redirect.headers.location!).hostname).toMatch(/^[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com$/);
      const seen = JSON.parse((await request(server, { path: "/link" })).body);
      expect(seen.host).toMatch(/\.execute-api\.eu-west-1\.amazonaws\.com$/);
    });
  });
});
