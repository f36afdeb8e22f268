import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startLocalDatabase, type LocalDatabase } from "../../src/database/local-server.js";
import { Browser } from "../wordpress/browser.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { scaffold } from "../../src/scaffold/init.js";
import { createTestContext, type TestContext } from "../helpers/context.js";
import { mariadbForTests, query } from "../database/helpers.js";
import { phpFpmForTests, type RawResponse } from "../dev/helpers.js";
import { nginxForTests } from "../helpers/nginx.js";
import { startReferenceServer, type ReferenceServer } from "./nginx.js";

/**
 * Debian's WordPress copied into a `lamp init --router` project, run under lamp dev and under
 * nginx + php-fpm (the WordPress-style configuration) against one local MariaDB: the same
 * requests must get the same answers, and its static files must never reach PHP under lamp dev.
 * The two sites share the database with different table prefixes.
 */
const wordpressSource = "/usr/share/wordpress";
const phpFpm = phpFpmForTests();
const nginx = nginxForTests();
const mariadb = mariadbForTests();
const hasWordPress = (() => {
  try {
    readFileSync(path.join(wordpressSource, "wp-settings.php"));
    return true;
  } catch {
    if (process.env.CI) throw new Error(`Debian's wordpress package is required in CI (${wordpressSource}): bash scripts/setup.sh installs it.`);
    console.warn(`\n⚠⚠⚠ SKIPPING the WordPress tests: ${wordpressSource} is missing (apt-get install wordpress). ⚠⚠⚠\n`);
    return false;
  }
})();

/** A wp-config.php that reads the database variables lamp gives PHP (and the table prefix of each site). */
const wpConfig = `<?php
define('DB_NAME', getenv('DB_DATABASE'));
define('DB_USER', getenv('DB_USERNAME'));
define('DB_PASSWORD', getenv('DB_PASSWORD'));
define('DB_HOST', getenv('DB_HOST') . ':' . getenv('DB_PORT'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
// TLS, as docs/database.md says: the local server requires it, as Aurora does.
if (getenv('MYSQL_ATTR_SSL_CA')) define('MYSQL_CLIENT_FLAGS', MYSQLI_CLIENT_SSL);
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $name) {
    define($name, getenv('WP_' . $name) ?: 'test-only-' . $name);
}
$table_prefix = getenv('WP_TABLE_PREFIX') ?: 'wp_';
// Cron by loopback HTTP request is off, as it should be in Lambda (run it on a schedule instead).
define('DISABLE_WP_CRON', true);
define('WP_DEFAULT_THEME', 'lamp-test');
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
`;

/** Debian ships no theme: a minimal one that prints the loop. */
const themeStyle = "/*\nTheme Name: lamp test\n*/\n";
const themeIndex = `<?php
?><!doctype html><html><head><title><?php wp_title(); ?></title><?php wp_head(); ?></head><body>
<?php while (have_posts()) { the_post(); ?><article><h1 class="entry-title"><?php the_title(); ?></h1><?php the_content(); ?></article><?php } ?>
<?php wp_footer(); ?></body></html>
`;

describe.skipIf(!phpFpm || !nginx || !mariadb || !hasWordPress)("WordPress in a lamp init --router project, compared with nginx", () => {
  let work: string;
  let root: string;
  let database: LocalDatabase;
  let ctx: TestContext;
  let lamp: DevServer;
  let reference: ReferenceServer;
  let viaLamp: Browser;
  let viaNginx: Browser;
  const both = async (step: (browser: Browser) => Promise<RawResponse & { text: string; location?: string }>) => {
    const [lampAnswer, nginxAnswer] = await Promise.all([step(viaLamp), step(viaNginx)]);
    return { lamp: lampAnswer, nginx: nginxAnswer };
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "lamp-wordpress-"));
    root = path.join(work, "blog");
    await scaffold({ target: root, name: "blog", region: "eu-west-1", php: "8.2", arch: "arm64", memory: "1024", force: false, router: true }, new AbortController().signal);
    // "Copy WordPress into public/": files, not Debian's symlinks into /usr/share/javascript.
    rmSync(path.join(root, "public"), { recursive: true });
    cpSync(wordpressSource, path.join(root, "public"), {
      recursive: true,
      dereference: true,
      filter: (source) => !["wp-config.php", ".htaccess"].includes(path.relative(wordpressSource, source)),
    });
    writeFileSync(path.join(root, "public", "wp-config.php"), wpConfig);
    mkdirSync(path.join(root, "public", "wp-content", "themes", "lamp-test"), { recursive: true });
    writeFileSync(path.join(root, "public", "wp-content", "themes", "lamp-test", "style.css"), themeStyle);
    writeFileSync(path.join(root, "public", "wp-content", "themes", "lamp-test", "index.php"), themeIndex);
    // docs/router-wordpress.md's must-use plugin: WordPress does not know SERVER_SOFTWARE=bref can rewrite URLs.
    mkdirSync(path.join(root, "public", "wp-content", "mu-plugins"));
    writeFileSync(path.join(root, "public", "wp-content", "mu-plugins", "lamp.php"), "<?php add_filter('got_url_rewrite', '__return_true');\n");

    database = await startLocalDatabase({ directory: path.join(work, "mariadb"), database: "wordpress", env: process.env, clock: systemClock });
    const configPath = path.join(root, "lamp.json");
    const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    config.environment = { ...database.variables, WP_TABLE_PREFIX: "lamp_" };
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    ctx = createTestContext({ cwd: root, env: process.env, clock: systemClock });
    lamp = await startDevServer({ project: await loadProject(root), port: 0, host: "127.0.0.1", workers: 2, phpFpm }, ctx, uiDevLog(ctx));
    reference = await startReferenceServer({
      phpFpm: phpFpm!,
      documentRoot: path.join(root, "public"),
      projectRoot: root,
      env: { ...process.env, ...database.variables, WP_TABLE_PREFIX: "nginx_" },
    });
    viaLamp = new Browser(lamp.url);
    viaNginx = new Browser(reference.url);
  }, 180_000);

  afterAll(async () => {
    await lamp?.close();
    await reference?.stop();
    await database?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("the installer's first page", async () => {
    const { lamp: l, nginx: n } = await both((browser) => browser.request("/wp-admin/install.php"));
    expect(l.status, l.text.slice(0, 500)).toBe(200);
    expect(n.status).toBe(200);
    for (const answer of [l, n]) expect(answer.text).toContain('name="weblog_title"');
  });

  it("the install request creates the site", async () => {
    const form = {
      weblog_title: "Lamp Blog",
      user_name: "admin",
      admin_password: "Correct-Horse-Battery-9",
      admin_password2: "Correct-Horse-Battery-9",
      pw_weak: "1",
      admin_email: "admin@example.com",
      blog_public: "0",
      language: "",
    };
    const { lamp: l, nginx: n } = await both((browser) => browser.request("/wp-admin/install.php?step=2", { form }));
    expect(l.status, l.text.slice(0, 2000)).toBe(200);
    expect(n.status).toBe(200);
    for (const answer of [l, n]) expect(answer.text).toMatch(/<h1>Success!<\/h1>/);
  }, 60_000);

  it("a login: the test cookie, then the form, then a redirect to the dashboard with the session cookies", async () => {
    await both((browser) => browser.request("/wp-login.php"));
    const form = { log: "admin", pwd: "Correct-Horse-Battery-9", "wp-submit": "Log In", redirect_to: "/wp-admin/", testcookie: "1" };
    const { lamp: l, nginx: n } = await both((browser) => browser.request("/wp-login.php", { form }));
    expect(l.status, l.text.slice(0, 1000)).toBe(302);
    expect(n.status).toBe(302);
    expect(l.location).toBe(n.location);
    expect(l.location).toBe("/wp-admin/");
    for (const browser of [viaLamp, viaNginx]) expect(browser.cookieNames().some((name) => name.startsWith("wordpress_logged_in_"))).toBe(true);
  });

  it("/wp-admin (no slash) is redirected, and /wp-admin/ is the dashboard", async () => {
    const redirect = await both((browser) => browser.request("/wp-admin"));
    expect(redirect.lamp.status).toBe(301);
    expect(redirect.nginx.status).toBe(301);
    expect(redirect.lamp.location).toBe(redirect.nginx.location);

    const { lamp: l, nginx: n } = await both((browser) => browser.request("/wp-admin/"));
    expect(l.status, l.text.slice(0, 1000)).toBe(200);
    expect(n.status).toBe(200);
    for (const answer of [l, n]) {
      expect(answer.text).toMatch(/<title>Dashboard/);
      expect(answer.text).toContain("Lamp Blog");
    }
  });

  it("a post page, by its id and by its pretty permalink (the front controller's fallback)", async () => {
    // The installer turns pretty permalinks on only when its loopback request works in that
    // environment; set them as Settings → Permalinks would, the same on both sites.
    for (const prefix of ["lamp_", "nginx_"]) {
      await query(database.variables, `UPDATE ${prefix}options SET option_value = '/%year%/%monthnum%/%day%/%postname%/' WHERE option_name = 'permalink_structure'; DELETE FROM ${prefix}options WHERE option_name = 'rewrite_rules'`);
    }
    const byId = await both((browser) => browser.request("/?p=1"));
    expect(byId.lamp.status).toBe(301);
    expect(byId.nginx.status).toBe(301);
    expect(byId.lamp.location).toBe(byId.nginx.location);
    expect(byId.lamp.location).toMatch(/^\/\d{4}\/\d{2}\/\d{2}\/hello-world\/$/);

    const { lamp: l, nginx: n } = await both((browser) => browser.request(byId.lamp.location!));
    expect(l.status).toBe(200);
    expect(n.status).toBe(200);
    for (const answer of [l, n]) expect(answer.text).toContain('<h1 class="entry-title">Hello world!</h1>');
    // A missing post is WordPress's own 404, under both.
    const missing = await both((browser) => browser.request("/2001/01/01/no-such-post/"));
    expect(missing.lamp.status).toBe(404);
    expect(missing.nginx.status).toBe(404);
  });

  it("the REST API by its pretty URL, a comment form POST, and a PHP-built stylesheet answer as under nginx", async () => {
    const rest = await both((browser) => browser.request("/wp-json/wp/v2/posts"));
    for (const answer of [rest.lamp, rest.nginx]) {
      expect(answer.status).toBe(200);
      expect((JSON.parse(answer.text) as { title: { rendered: string } }[]).map((post) => post.title.rendered)).toEqual(["Hello world!"]);
    }

    const comment = { comment: "Served without a web server.", comment_post_ID: "1", comment_parent: "0" };
    const posted = await both((browser) => browser.request("/wp-comments-post.php", { form: comment }));
    expect(posted.lamp.status, posted.lamp.text.slice(0, 500)).toBe(302);
    expect(posted.nginx.status).toBe(302);
    expect(posted.lamp.location).toBe(posted.nginx.location);
    expect(posted.lamp.location).toMatch(/hello-world\/.*#comment-\d+$/);

    const styles = await both((browser) => browser.request("/wp-admin/load-styles.php?c=0&dir=ltr&load%5Bchunk_0%5D=dashicons,admin-bar"));
    expect(styles.lamp.status).toBe(200);
    expect(styles.lamp.headers["content-type"]).toBe(styles.nginx.headers["content-type"]);
    expect(styles.lamp.body.equals(styles.nginx.body)).toBe(true);
  });

  it("Settings → Permalinks offers pretty permalinks without /index.php/, as under nginx (docs/router-wordpress.md's must-use plugin)", async () => {
    const { lamp: l, nginx: n } = await both((browser) => browser.request("/wp-admin/options-permalink.php"));
    for (const answer of [l, n]) {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('value="/%year%/%monthnum%/%day%/%postname%/"');
      expect(answer.text).not.toContain('value="/index.php/%year%');
    }
  });

  it("its static files are served as static files, never by PHP, byte for byte as nginx sends them", async () => {
    for (const file of ["/wp-includes/css/dashicons.min.css", "/wp-admin/css/login.min.css", "/wp-includes/js/jquery/jquery.min.js", "/wp-admin/images/wordpress-logo.svg", "/wp-includes/fonts/dashicons.woff2"]) {
      const { lamp: l, nginx: n } = await both((browser) => browser.request(`${file}?ver=6.1.9`));
      expect(l.status, file).toBe(200);
      expect(l.body.equals(n.body), file).toBe(true);
      // PHP's answers carry API Gateway's request id; the bucket's do not.
      expect(l.headers["apigw-requestid"], file).toBeUndefined();
      expect(l.headers["cache-control"], file).toBe("public, max-age=300, must-revalidate");
    }
    // Its PHP and configuration are never static files.
    const config = await viaLamp.request("/wp-config.php");
    expect(config.text).not.toContain("DB_PASSWORD");
    expect(config.headers["apigw-requestid"]).toBeDefined();
  });
});
