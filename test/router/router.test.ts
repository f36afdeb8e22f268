import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { bundledRouterPath, routerHandler } from "../../src/router/router.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { phpFpmForTests, rawRequest, type RawResponse } from "../dev/helpers.js";
import { nginxForTests } from "../helpers/nginx.js";
import { startReferenceServer, type ReferenceServer } from "./nginx.js";

const phpFpm = phpFpmForTests();
const nginx = nginxForTests();

/** Every script of the test site reports what it sees, as JSON. */
const dumpScript = `<?php
header('Content-Type: application/json');
$keys = ['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PHP_SELF', 'DOCUMENT_ROOT', 'PATH_INFO'];
$server = [];
foreach ($keys as $key) $server[$key] = $_SERVER[$key] ?? null;
echo json_encode(['file' => __FILE__, 'cwd' => getcwd(), 'server' => $server, 'get' => $_GET, 'post' => $_POST, 'global' => isset($GLOBALS['site_global'])]);
`;
/** Defines a top-level variable: it must be a global, as under nginx. */
const globalsScript = `<?php
$site_global = 'set';
require __DIR__ . '/dump.php';
`;

const pngBytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 256 }, (_, index) => index))]);

interface Site {
  root: string;
  documentRoot: string;
  remove(): void;
}

function makeSite(): Site {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), "lamp-router-test-")));
  const documentRoot = path.join(root, "public");
  const write = (relative: string, content: string) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  write("lamp.json", JSON.stringify({ stackName: "router-test", region: "eu-west-1", router: true }));
  for (const script of ["public/index.php", "public/about.php", "public/wp-admin/index.php", "public/wp-admin/options.php", "public/wp-admin/includes/x.php", "public/dump.php"]) {
    write(script, dumpScript);
  }
  write("public/globals.php", globalsScript);
  write("public/wp-config.php", "<?php\ndefine('DB_PASSWORD', 'hunter2-secret');\n");
  write("public/sub/readme.html", "<p>not an entry point</p>\n");
  write("public/readme.html", "<p>a file nginx would send as it is</p>\n");
  write("public/composer.json", '{"secret": "hunter2-secret"}\n');
  write("public/.hidden.php", "<?php echo 'hidden-ran';\n");
  write("public/.git/config", "[core] hunter2-secret\n");
  write("public/.htaccess", "Deny from all # hunter2-secret\n");
  write("public/wp-includes/css/style.css", "body { color: #123; }\n");
  writeFileSync(path.join(root, "public", "logo.PNG"), pngBytes);
  write("public/.well-known/security.txt", "Contact: hunter2-secret\n");
  write("outside/secret.css", "/* outside hunter2-secret */\n");
  write("outside/secret.php", "<?php echo 'outside-ran hunter2-secret';\n");
  write("outside/index.php", "<?php echo 'outside-index-ran hunter2-secret';\n");
  symlinkSync(path.join(root, "outside", "secret.php"), path.join(documentRoot, "linked.php"));
  symlinkSync(path.join(root, "outside"), path.join(documentRoot, "linkdir"));
  symlinkSync(path.join(documentRoot, "about.php"), path.join(documentRoot, "alias.php"));
  symlinkSync(path.join(root, "outside", "secret.css"), path.join(documentRoot, "linked.css"));
  symlinkSync(path.join(documentRoot, "wp-config.php"), path.join(documentRoot, "config.css"));
  return { root, documentRoot, remove: () => rmSync(root, { recursive: true, force: true }) };
}

interface Answer {
  status: number;
  location?: string;
  json?: Record<string, unknown>;
  body: string;
}

function answerOf(response: RawResponse): Answer {
  const body = response.body.toString("utf8");
  const location = response.headers.location;
  const answer: Answer = { status: response.status, body };
  // nginx redirects to an absolute URL; only the path and query matter.
  if (location) answer.location = location.replace(/^https?:\/\/[^/]+/, "");
  if (String(response.headers["content-type"]).startsWith("application/json")) answer.json = JSON.parse(body) as Record<string, unknown>;
  return answer;
}

describe.skipIf(!phpFpm || !nginx)("the router compared with nginx + php-fpm (WordPress-style configuration)", () => {
  let site: Site;
  let ctx: TestContext;
  let lamp: DevServer;
  let reference: ReferenceServer;

  beforeAll(async () => {
    site = makeSite();
    ctx = createTestContext({ cwd: site.root, env: process.env, clock: systemClock });
    lamp = await startDevServer({ project: await loadProject(site.root), port: 0, host: "127.0.0.1", workers: 2, phpFpm }, ctx, uiDevLog(ctx));
    reference = await startReferenceServer({ phpFpm: phpFpm!, documentRoot: site.documentRoot, projectRoot: site.root });
  }, 60_000);

  afterAll(async () => {
    await lamp?.close();
    await reference?.stop();
    site?.remove();
  });

  const both = async (requestPath: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const [viaLamp, viaNginx] = await Promise.all([
      rawRequest(lamp.url, { path: requestPath, ...init }),
      rawRequest(reference.url, { path: requestPath, ...init }),
    ]);
    return { lamp: answerOf(viaLamp), nginx: answerOf(viaNginx) };
  };

  it("wrote lamp's router into the project, where the function's handler points", () => {
    expect(readFileSync(path.join(site.root, routerHandler))).toEqual(readFileSync(bundledRouterPath));
    expect(ctx.ui.texts("info").join("\n")).toContain(`Wrote ${routerHandler}`);
  });

  const sameAsNginx: [string, string][] = [
    ["the front page runs index.php", "/"],
    ["an existing script runs", "/about.php"],
    ["the front controller by its name", "/index.php?page=2"],
    ["PATH_INFO after a .php segment", "/about.php/extra/path"],
    ["PATH_INFO keeps a trailing slash", "/about.php/extra/"],
    ["PATH_INFO of a bare slash", "/index.php/"],
    ["a folder runs its index.php", "/wp-admin/"],
    ["a folder's index.php with a query", "/wp-admin/?s=1"],
    ["a script in a folder", "/wp-admin/options.php?page=general&tab[a]=1"],
    ["a script two folders down", "/wp-admin/includes/x.php"],
    ["anything else goes to the front controller", "/2024/05/hello-world/"],
    ["the front controller gets the query", "/category/news?paged=3&s=a+b"],
    ["an upper-case .PHP is not a script name", "/about.PHP"],
    ["a missing .php file is a 404", "/missing.php"],
    ["a missing .php file with PATH_INFO is a 404", "/missing.php/x/y"],
    ["a missing .php file in a folder is a 404", "/wp-admin/missing.php"],
    ["a .php segment that is a folder name, missing", "/nothere.php/index.php"],
    ["slashes are merged", "//wp-admin//options.php"],
    ["dot segments are resolved", "/wp-admin/./../about.php"],
    ["percent-encoded names are decoded", "/%61bout.php"],
    ["an encoded slash is a slash", "/wp-admin%2Foptions.php"],
    ["a folder without its slash is redirected", "/wp-admin"],
    ["a folder redirect keeps the query", "/wp-admin?x=1"],
    ["a folder without index.php is forbidden", "/sub/"],
    ["traversal above the root is a 400", "/../outside/secret.php"],
    ["encoded traversal above the root is a 400", "/%2e%2e/outside/secret.php"],
    ["deeper encoded traversal is a 400", "/wp-admin/%2E%2E/%2e%2E/outside/index.php"],
    ["a dot-script is forbidden", "/.hidden.php"],
    ["a dot-folder is forbidden", "/.git/config"],
    [".htaccess is forbidden", "/.htaccess"],
    ["wp-config.php runs, printing nothing", "/wp-config.php"],
    ["a symlink inside the root runs its target", "/alias.php"],
    ["top-level variables are globals", "/globals.php"],
    ["a NUL byte after a script name is a 400, never that script", "/wp-config.php%00.css"],
    ["a NUL byte anywhere in the path is a 400", "/about.php/x%00y"],
  ];

  it.each(sameAsNginx)("%s: %s", async (_, requestPath) => {
    const { lamp: viaLamp, nginx: viaNginx } = await both(requestPath);
    expect(viaLamp.status, viaLamp.body).toBe(viaNginx.status);
    expect(viaLamp.location).toBe(viaNginx.location);
    expect(viaLamp.json).toEqual(viaNginx.json);
    if (viaNginx.status === 200) expect(viaLamp.json ?? viaLamp.body).toEqual(viaNginx.json ?? viaNginx.body);
  });

  it("a form POST to a script gets the same $_POST and $_SERVER", async () => {
    const init = { method: "POST", body: "comment=hello&post_id=7", headers: { "Content-Type": "application/x-www-form-urlencoded" } };
    const { lamp: viaLamp, nginx: viaNginx } = await both("/wp-admin/options.php", init);
    expect(viaLamp.status).toBe(200);
    expect(viaLamp.json).toEqual(viaNginx.json);
    expect(viaLamp.json!.post).toEqual({ comment: "hello", post_id: "7" });
  });

  it("runs scripts with the values nginx gives them", async () => {
    const { lamp: viaLamp } = await both("/wp-admin/options.php/more?x=1");
    expect(viaLamp.json).toMatchObject({
      file: path.join(site.documentRoot, "wp-admin/options.php"),
      cwd: path.join(site.documentRoot, "wp-admin"),
      server: {
        SCRIPT_FILENAME: path.join(site.documentRoot, "wp-admin/options.php"),
        SCRIPT_NAME: "/wp-admin/options.php",
        PHP_SELF: "/wp-admin/options.php/more",
        DOCUMENT_ROOT: site.documentRoot,
        PATH_INFO: "/more",
      },
      get: { x: "1" },
    });
  });

  it("never runs or reads anything outside the document root, even where nginx follows a symlink", async () => {
    for (const requestPath of ["/linked.php", "/linkdir/secret.php", "/linkdir/index.php/x"]) {
      const answer = answerOf(await rawRequest(lamp.url, { path: requestPath }));
      expect(answer.status, requestPath).toBe(404);
      expect(answer.body).not.toContain("hunter2-secret");
      expect(answer.body).not.toContain("-ran");
    }
    // A folder that resolves outside is no folder at all: the front controller answers.
    const folder = answerOf(await rawRequest(lamp.url, { path: "/linkdir/" }));
    expect(folder.json?.file).toBe(path.join(site.documentRoot, "index.php"));
    // nginx (disable_symlinks off, its default) would have run it: the router is stricter on purpose.
    expect(answerOf(await rawRequest(reference.url, { path: "/linked.php" })).body).toContain("outside-ran");
  });

  it("never sends a file's source or content as text: what nginx would send as it is, the router does not", async () => {
    for (const requestPath of ["/readme.html", "/composer.json", "/sub/readme.html", "/wp-config.php", "/about.php", "/.htaccess", "/.git/config"]) {
      const answer = answerOf(await rawRequest(lamp.url, { path: requestPath }));
      expect(answer.body, requestPath).not.toContain("<?php");
      expect(answer.body, requestPath).not.toContain("hunter2-secret");
      expect(answer.body, requestPath).not.toContain("nginx would send");
    }
    expect(answerOf(await rawRequest(lamp.url, { path: "/readme.html" })).status).toBe(404);
    expect(answerOf(await rawRequest(reference.url, { path: "/composer.json" })).body).toContain("hunter2-secret");
  });

  describe("static files of the document root, before PHP", () => {
    it("serves an allow-listed file as the bucket would, with the assets' headers, never through PHP", async () => {
      const [viaLamp, viaNginx] = await Promise.all([
        rawRequest(lamp.url, { path: "/wp-includes/css/style.css?ver=6.1" }),
        rawRequest(reference.url, { path: "/wp-includes/css/style.css?ver=6.1" }),
      ]);
      expect(viaLamp.status).toBe(200);
      expect(viaLamp.body).toEqual(viaNginx.body);
      expect(viaLamp.headers["content-type"]).toBe("text/css; charset=utf-8");
      expect(viaLamp.headers["cache-control"]).toBe("public, max-age=300, must-revalidate");
      // PHP's answers carry API Gateway's request id; the bucket's do not.
      expect(viaLamp.headers["apigw-requestid"]).toBeUndefined();
      const etag = String(viaLamp.headers.etag);
      const again = await rawRequest(lamp.url, { path: "/wp-includes/css/style.css", headers: { "If-None-Match": etag } });
      expect(again.status).toBe(304);
      const head = await rawRequest(lamp.url, { method: "HEAD", path: "/wp-includes/css/style.css" });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    });

    it("sends binary files byte for byte (an upper-case extension counts)", async () => {
      const image = await rawRequest(lamp.url, { path: "/logo.PNG" });
      expect(image.status).toBe(200);
      expect(image.headers["content-type"]).toBe("image/png");
      expect(image.body).toEqual(pngBytes);
    });

    it("hands a static-looking path with no file to PHP, without the query string, as CloudFront's failover does", async () => {
      const response = await rawRequest(lamp.url, { path: "/robots.txt?x=1" });
      expect(response.status).toBe(200);
      expect(response.headers["apigw-requestid"]).toBeDefined();
      const answer = answerOf(response);
      expect(answer.json).toMatchObject({ file: path.join(site.documentRoot, "index.php"), get: [] });
    });

    it("never serves what would not be uploaded: symlinks out or to secrets, dot-folders, other types", async () => {
      for (const requestPath of ["/linked.css", "/config.css", "/.well-known/security.txt", "/readme.html", "/composer.json"]) {
        const response = await rawRequest(lamp.url, { path: requestPath });
        expect(response.body.toString(), requestPath).not.toContain("hunter2-secret");
        expect(response.body.toString(), requestPath).not.toContain("nginx would send");
        expect(response.headers["apigw-requestid"], requestPath).toBeDefined();
      }
    });
  });
});
