import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import type { LampError } from "../../src/core/errors.js";
import { readOnlySupported } from "../../src/dev/lambda-php.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { writeNewProject } from "../helpers/new-project.js";
import { phpFpmForTests, rawRequest } from "./helpers.js";

const phpFpm = phpFpmForTests();

/** What a page of the app reports about the request, as PHP sees it. */
const probe = `<?php
header('Content-Type: application/json');
$keys = ['HTTP_HOST', 'SERVER_NAME', 'SERVER_PORT', 'HTTPS', 'REQUEST_SCHEME', 'REMOTE_ADDR', 'HTTP_X_FORWARDED_FOR', 'HTTP_X_FORWARDED_HOST', 'LAMBDA_TASK_ROOT'];
echo json_encode([
    'server' => array_intersect_key($_SERVER, array_flip($keys)),
    'leak' => json_encode([$_SERVER, $_ENV, getenv('LAMP_ORIGIN_TOKEN'), getallheaders(), apache_request_headers()]),
    'tmp' => sys_get_temp_dir(),
    'memory' => getenv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE'),
    'ini' => [ini_get('upload_max_filesize'), ini_get('post_max_size')],
]);
`;

/** A PNG signature, then every byte value: a body that is not UTF-8. */
const image = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 256 }, (_, index) => index))]);

describe.skipIf(!phpFpm)("lamp dev on a new project: PHP sees what it will see behind CloudFront, through the runtime layer", () => {
  let project: Awaited<ReturnType<typeof writeNewProject>>;
  let ctx: TestContext;
  let server: DevServer;

  beforeAll(async () => {
    project = await writeNewProject();
    writeFileSync(path.join(project.root, "public", "probe.php"), probe);
    // The project's own PHP settings, which Bref applies after its own in Lambda.
    writeFileSync(path.join(project.root, "php", "conf.d", "app.ini"), "upload_max_filesize = 2M\n");
    writeFileSync(path.join(project.root, "public", "image.php"), `<?php header('Content-Type: image/png'); readfile(__DIR__ . '/image.bin');`);
    writeFileSync(path.join(project.root, "public", "image.bin"), image);
    writeFileSync(path.join(project.root, "public", "write.php"), `<?php @mkdir(dirname(__DIR__) . '/data/cache', 0777, true); file_put_contents(dirname(__DIR__) . '/data/cache/page.html', 'cached'); echo 'ok';`);
    writeFileSync(path.join(project.root, "public", "tmp-write.php"), `<?php file_put_contents(sys_get_temp_dir() . '/scratch.txt', 'fine'); echo 'ok';`);
    writeFileSync(path.join(project.root, "public", "session.php"), `<?php session_start(); $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1; echo $_SESSION['n'];`);
    // The handler routes everything to index.php: a tiny router in front of it for the test pages.
    const index = path.join(project.root, "public", "index.php");
    writeFileSync(
      index,
      `<?php\n$page = __DIR__ . $_SERVER['PATH_INFO'];\nif (in_array($_SERVER['PATH_INFO'], ['/probe.php', '/image.php', '/write.php', '/tmp-write.php', '/session.php'], true)) { require $page; return; }\n?>${readFileSync(index, "utf8").replace("declare(strict_types=1);", "")}`,
    );
    ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    // --writable: the writes test below needs PHP's writes to succeed, to see them reported.
    server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 2, phpFpm, writable: true }, ctx, uiDevLog(ctx));
  });

  afterAll(async () => {
    await server?.close();
    project?.remove();
  });

  it("gives PHP the browser's host, scheme, port and address; the origin value never reaches the app", async () => {
    const response = await rawRequest(server.url, { path: "/probe.php" });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body.toString("utf8"));
    expect(seen.server).toEqual({
      HTTP_HOST: `127.0.0.1:${server.port}`,
      SERVER_NAME: "127.0.0.1",
      SERVER_PORT: String(server.port),
      REQUEST_SCHEME: "http",
      REMOTE_ADDR: "127.0.0.1",
      HTTP_X_FORWARDED_FOR: "127.0.0.1",
      HTTP_X_FORWARDED_HOST: `127.0.0.1:${server.port}`,
      LAMBDA_TASK_ROOT: project.root,
    });
    // Neither the function's variable nor CloudFront's header is left for the app (getenv() gave false).
    expect(seen.leak).not.toMatch(/lamp.origin/i);
    expect(JSON.parse(seen.leak)[2]).toBe(false);
    expect(seen.memory).toBe("1024");
    // php/conf.d/app.ini wins over lamp's Bref settings (6M), which still apply where it says nothing.
    expect(seen.ini).toEqual(["2M", "6M"]);
  });

  it("never believes a browser's forged X-Forwarded-Host or X-Forwarded-For, nor its X-Lamp-Origin", async () => {
    const response = await rawRequest(server.url, {
      path: "/probe.php",
      headers: { "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Lamp-Origin": "forged" },
    });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body.toString("utf8"));
    expect(seen.server).toMatchObject({ HTTP_HOST: `127.0.0.1:${server.port}`, REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http", HTTP_X_FORWARDED_FOR: "127.0.0.1" });
    expect(seen.server).not.toHaveProperty("HTTPS");
  });

  it("drops headers spelled with underscores, which PHP would read as the forwarded ones (nginx drops them too)", async () => {
    const response = await rawRequest(server.url, {
      path: "/probe.php",
      headers: {
        "X-Forwarded-Host": "a",
        X_Forwarded_Host: "evil.com",
        "X-Forwarded-For": "6.6.6.6",
        X_Forwarded_For: "evil.com",
        X_Forwarded_Proto: "https",
        X_Lamp_Origin: "forged",
      },
    });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body.toString("utf8"));
    expect(seen.server).toMatchObject({
      HTTP_HOST: `127.0.0.1:${server.port}`,
      SERVER_NAME: "127.0.0.1",
      REMOTE_ADDR: "127.0.0.1",
      HTTP_X_FORWARDED_FOR: "127.0.0.1",
      HTTP_X_FORWARDED_HOST: `127.0.0.1:${server.port}`,
      REQUEST_SCHEME: "http",
    });
    expect(JSON.stringify(seen.server)).not.toContain("evil.com");
  });

  it("gives each instance its own temp folder for the run, as Lambda's /tmp", async () => {
    const seen: string[] = [];
    for (let index = 0; index < 2; index += 1) seen.push(JSON.parse((await rawRequest(server.url, { path: "/probe.php" })).body.toString("utf8")).tmp);
    expect([...seen].sort()).toEqual([...server.instanceTmpDirs].sort());
    expect(seen[0]!.startsWith(project.root)).toBe(false);
  });

  it("returns a binary response byte for byte (the template sets BREF_BINARY_RESPONSES)", async () => {
    const response = await rawRequest(server.url, { path: "/image.php" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("image/png");
    expect(response.body.equals(image)).toBe(true);
  });

  it("warns once per path when PHP writes into the project folder (read-only in Lambda), not for /tmp or for writes between requests", async () => {
    await server.watchingWrites;
    const writeWarnings = () => ctx.ui.texts("warn").filter((line) => line.startsWith("PHP wrote"));
    expect((await rawRequest(server.url, { path: "/tmp-write.php" })).status).toBe(200);
    expect((await rawRequest(server.url, { path: "/write.php" })).status).toBe(200);
    await expect.poll(writeWarnings).toContainEqual(expect.stringContaining("PHP wrote data/cache/page.html in the project folder"));
    expect(writeWarnings().join("\n")).toContain("/var/task");
    await rawRequest(server.url, { path: "/write.php" });
    // The developer editing a file between requests is not PHP.
    await new Promise((resolve) => setTimeout(resolve, 700));
    writeFileSync(path.join(project.root, "notes.txt"), "mine");
    await rawRequest(server.url, { path: "/probe.php" });
    // One line for the file (not one per folder on its way), once.
    const paths = writeWarnings().map((line) => line.split(" ")[2]);
    expect(paths).toEqual(["data/cache/page.html"]);
    expect(paths).not.toContain("notes.txt");
    expect(paths.some((name) => name?.includes("scratch"))).toBe(false);
  });

  it("keeps file sessions per instance, as Lambda does: consecutive requests alternate instances and a session is lost on the other one; one hint names the fix", async () => {
    const first = await rawRequest(server.url, { path: "/session.php" });
    expect(first.body.toString()).toBe("1");
    const cookie = String(first.headers["set-cookie"]).split(";", 1)[0]!;
    const counts = [first.body.toString()];
    for (let index = 0; index < 3; index += 1) counts.push((await rawRequest(server.url, { path: "/session.php", headers: { Cookie: cookie } })).body.toString());
    expect(counts).toEqual(["1", "1", "2", "2"]);
    const sessionWarnings = () => ctx.ui.texts("warn").filter((line) => line.includes("session"));
    await expect.poll(sessionWarnings).toHaveLength(2);
    expect(sessionWarnings()[0]).toMatch(/each instance has its own \/tmp/);
    expect(sessionWarnings()[1]).toMatch(/started on instance \d, but reached instance \d.*lamp init --database.*cookie sessions/);
  });

  it("the sample page shows the browser's host", async () => {
    const response = await rawRequest(server.url, { path: "/" });
    expect(response.body.toString("utf8")).toContain(`<dd>127.0.0.1:${server.port}</dd>`);
  });
});

describe.skipIf(!phpFpm)("lamp dev and an app's own auto_prepend_file", () => {
  it("refuses one in php/conf.d, which would switch the runtime layer off or be dropped by it, before starting php-fpm", async () => {
    for (const file of ["app.ini", "waf.ini", "zz-last.ini"]) {
      const project = await writeNewProject();
      writeFileSync(path.join(project.root, "php", "conf.d", file), `auto_prepend_file = "\${LAMBDA_TASK_ROOT}/waf.php"\n`);
      const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
      try {
        const error = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx)).then(
          async (server) => (await server.close(), undefined),
          (caught: unknown) => caught as LampError,
        );
        expect(error?.code, file).toBe("config");
        expect(error?.message).toContain(`php/conf.d/${file} sets auto_prepend_file, and so does php/conf.d/lamp.ini`);
        expect(error?.hint).toContain("php/prepend.php");
      } finally {
        project.remove();
      }
    }
  });

  it("runs php/prepend.php after the runtime layer, so the app's prepend sees the viewer's request", async () => {
    const project = await writeNewProject();
    writeFileSync(path.join(project.root, "php", "prepend.php"), "<?php header('X-App-Prepend: ' . $_SERVER['HTTP_HOST']);\n");
    const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    const server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    try {
      const response = await rawRequest(server.url, { path: "/" });
      expect(response.status).toBe(200);
      expect(response.headers["x-app-prepend"]).toBe(`127.0.0.1:${server.port}`);
    } finally {
      await server.close();
      project.remove();
    }
  });
});

describe.skipIf(!phpFpm)("lamp dev names what production would silently lose", () => {
  it("dangling symlinks of the project, once at start; a static-looking path's query string, once per path", async () => {
    const project = await writeNewProject();
    symlinkSync("/etc/wordpress/config-missing.php", path.join(project.root, "public", "wp-config.php"));
    symlinkSync("../nowhere", path.join(project.root, "public", "gone.css"));
    writeFileSync(path.join(project.root, "public", "index.php"), "<?php echo json_encode($_GET);");
    const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    const server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    try {
      const linkWarnings = () => ctx.ui.texts("warn").filter((line) => line.includes("point to nothing"));
      await expect.poll(linkWarnings).toHaveLength(1);
      expect(linkWarnings()[0]).toContain("2 symlinks in the project point to nothing (public/gone.css, public/wp-config.php)");

      for (let visit = 0; visit < 2; visit += 1) {
        const response = await rawRequest(server.url, { path: "/chart.png?n=7" });
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe("[]");
      }
      const queryWarnings = ctx.ui.texts("warn").filter((line) => line.includes("without its query string"));
      expect(queryWarnings).toEqual([expect.stringContaining("GET /chart.png: PHP answers this static-looking path without its query string (?n=7), as in production")]);
    } finally {
      await server.close();
      project.remove();
    }
  });
});

describe.skipIf(!phpFpm)("lamp dev with a template whose distribution sends no origin header", () => {
  it("answers 403 from the runtime layer, as Lambda would", async () => {
    const project = await writeNewProject();
    const templatePath = path.join(project.root, "template.yaml");
    writeFileSync(templatePath, readFileSync(templatePath, "utf8").replace(/ +OriginCustomHeaders:\n +- HeaderName: X-Lamp-Origin\n +HeaderValue: .*\n/, ""));
    const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    const server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    try {
      const response = await rawRequest(server.url, { path: "/" });
      expect(response.status).toBe(403);
      expect(response.body.toString("utf8")).toMatch(/^Forbidden: .*CloudFront.*\n$/);
      expect(ctx.ui.texts("warn")).toContainEqual(expect.stringContaining("no CloudFront origin sends X-Lamp-Origin"));
    } finally {
      await server.close();
      project.remove();
    }
  });
});

describe.skipIf(!phpFpm)("lamp dev (read-only code by default)", () => {
  it("makes PHP's writes into the project fail, as in Lambda, while /tmp stays writable; the log says why", async (context) => {
    if (!readOnlySupported()) {
      if (process.env.CI) throw new Error("CI must allow user namespaces for lamp dev --read-only");
      console.warn("\n⚠⚠⚠ SKIPPING lamp dev --read-only: this system does not allow user namespaces (unshare --user --mount). ⚠⚠⚠\n");
      context.skip();
    }
    const project = await writeNewProject();
    writeFileSync(
      path.join(project.root, "public", "index.php"),
      `<?php echo var_export(file_put_contents(dirname(__DIR__) . '/data.txt', 'x') !== false, true), ' ', var_export(is_writable(__DIR__), true), ' ', var_export(file_put_contents(sys_get_temp_dir() . '/t.txt', 'x') !== false, true);`,
    );
    const ctx = createTestContext({ cwd: project.root, env: process.env, clock: systemClock });
    const server = await startDevServer({ project: await loadProject(project.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    try {
      const response = await rawRequest(server.url, { path: "/" });
      expect(response.body.toString()).toBe("false false true");
      expect(existsSync(path.join(project.root, "data.txt"))).toBe(false);
      expect(server.readOnly).toBe(true);
      await expect.poll(() => ctx.ui.texts("warn").join("\n")).toMatch(/read-only as \/var\/task is in Lambda.*lamp dev --writable/);
    } finally {
      await server.close();
      project.remove();
    }
  });
});
