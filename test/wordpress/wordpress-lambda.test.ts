import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { runLocal } from "../../src/console/local.js";
import { scaffold } from "../../src/scaffold/init.js";
import { createTestContext } from "../helpers/context.js";
import { mariadbForTests } from "../database/helpers.js";
import { phpFpmForTests } from "../dev/helpers.js";
import { Browser } from "./browser.js";

/**
 * Debian's WordPress 6.1 with its twentytwentythree theme in a `lamp init --wordpress` project, under
 * default `lamp dev` (read-only code, two instances, Bref's extensions plus gd, the function's
 * environment): it installs, logs in, uploads an image into the bucket's stand-in (thumbnails made
 * by GD, served at the site's own URL byte for byte), deletes it, and its password-reset mail is
 * caught. Nothing of this writes into the code.
 */
const wordpressSource = "/usr/share/wordpress";
const themeSource = path.join(wordpressSource, "wp-content", "themes", "twentytwentythree");
const phpFpm = phpFpmForTests();
const mariadb = mariadbForTests();
const hasWordPress = (() => {
  if (existsSync(path.join(wordpressSource, "wp-settings.php")) && existsSync(path.join(themeSource, "theme.json"))) return true;
  if (process.env.CI) throw new Error(`Debian's wordpress and wordpress-theme-twentytwentythree packages are required in CI: bash scripts/setup.sh installs them.`);
  console.warn(`\n⚠⚠⚠ SKIPPING the WordPress-in-Lambda tests: ${wordpressSource} or its twentytwentythree theme is missing (apt-get install wordpress wordpress-theme-twentytwentythree). ⚠⚠⚠\n`);
  return false;
})();

/** An 800×600 JPEG made by the local PHP's GD: big enough for WordPress's 150, 300 and 768 sizes. */
function photo(): Buffer {
  return execFileSync("php", ["-r", '$i = imagecreatetruecolor(800, 600); for ($x = 0; $x < 800; $x += 40) imagefilledrectangle($i, $x, 0, $x + 20, 600, imagecolorallocate($i, $x % 255, 80, 160)); imagejpeg($i, null, 90);']);
}

describe.skipIf(!phpFpm || !mariadb || !hasWordPress)("WordPress in a lamp init --wordpress project under default lamp dev", () => {
  let work: string;
  let root: string;
  let lamp: DevServer;
  let ctx: ReturnType<typeof createTestContext>;
  let browser: Browser;
  const mails: string[] = [];
  let upload: { id: number; url: string; nonces: { delete: string; edit: string } } | undefined;
  const image = hasWordPress && phpFpm ? photo() : Buffer.alloc(0);

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "lamp-wp-lambda-"));
    root = path.join(work, "blog");
    await scaffold({ target: root, name: "blog", region: "eu-west-1", php: "8.2", arch: "x86_64", memory: "1024", force: false, wordpress: true }, new AbortController().signal);
    // "Get WordPress into public/": its files, not Debian's symlinks; lamp's own files stay.
    cpSync(wordpressSource, path.join(root, "public"), { recursive: true, dereference: true, force: false, filter: (source) => path.basename(source) !== "wp-config.php" && path.basename(source) !== ".htaccess" });
    cpSync(themeSource, path.join(root, "public", "wp-content", "themes", "twentytwentythree"), { recursive: true, dereference: true });
    cpSync(path.join(import.meta.dirname, "fixtures", "tls-probe.php"), path.join(root, "public", "lamp-tls-probe.php"));
    cpSync(path.join(import.meta.dirname, "fixtures", "cron-job.php"), path.join(root, "public", "wp-content", "mu-plugins", "lamp-test-cron.php"));
    ctx = createTestContext({ cwd: root, env: process.env, clock: systemClock });
    const log = { ...uiDevLog(ctx), mail: (line: string) => mails.push(line) };
    lamp = await startDevServer({ project: await loadProject(root), port: 0, host: "127.0.0.1", workers: 2, phpFpm }, ctx, log);
    browser = new Browser(lamp.url);
  }, 180_000);

  afterAll(async () => {
    await lamp?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("runs with the code read-only", () => {
    expect(lamp.readOnly).toBe(true);
  });

  it("installs with lamp's wp-config.php (database over TLS verified by the db.php drop-in) and logs in", async () => {
    const first = await browser.request("/wp-admin/install.php");
    expect(first.status, first.text.slice(0, 800)).toBe(200);
    const form = { weblog_title: "Lamp Blog", user_name: "admin", admin_password: "Correct-Horse-Battery-9", admin_password2: "Correct-Horse-Battery-9", pw_weak: "1", admin_email: "admin@example.com", blog_public: "0", language: "" };
    const installed = await browser.request("/wp-admin/install.php?step=2", { form });
    expect(installed.text, installed.text.slice(0, 2000)).toMatch(/<h1>Success!<\/h1>/);
    await browser.request("/wp-login.php");
    const login = await browser.request("/wp-login.php", { form: { log: "admin", pwd: "Correct-Horse-Battery-9", "wp-submit": "Log In", redirect_to: "/wp-admin/", testcookie: "1" } });
    expect(login.status, login.text.slice(0, 1000)).toBe(302);
    expect(login.location).toBe("/wp-admin/");
    const home = await browser.request("/");
    expect(home.status).toBe(200);
    expect(home.text).toContain("twentytwentythree");
  }, 60_000);

  it("db.php connects over TLS verified with MYSQL_ATTR_SSL_CA: a CA that did not sign the server's certificate fails", async () => {
    const probe = await browser.request("/lamp-tls-probe.php");
    expect(probe.status, ctx.ui.texts().filter((line) => /Fatal|^php #|Uncaught/.test(line)).join("\n")).toBe(200);
    const answer = JSON.parse(probe.text) as { class: string; cipher: string | null; otherConnected: boolean; otherReady: boolean };
    expect(answer.class).toBe("Lamp_Wpdb");
    expect(answer.cipher).toMatch(/\w/);
    expect(answer.otherConnected).toBe(false);
    expect(answer.otherReady).toBe(false);
  });

  it("uploads an image into the bucket's stand-in, with GD's thumbnails, served at the site's own URL byte for byte", async () => {
    const screen = await browser.request("/wp-admin/media-new.php");
    expect(screen.status).toBe(200);
    const nonce = /"_wpnonce":"([0-9a-f]+)"/.exec(screen.text)?.[1];
    expect(nonce).toBeDefined();
    const answer = await browser.request("/wp-admin/async-upload.php", {
      form: { name: "harbour.jpg", action: "upload-attachment", _wpnonce: nonce! },
      files: { "async-upload": { name: "harbour.jpg", type: "image/jpeg", content: image } },
    });
    expect(answer.status, answer.text.slice(0, 1500)).toBe(200);
    const result = JSON.parse(answer.text) as { success: boolean; data: { id: number; url: string; nonces: { delete: string; edit: string }; sizes: Record<string, { url: string; width: number }> } };
    expect(result.success, answer.text.slice(0, 1500)).toBe(true);
    upload = result.data;
    const url = new URL(result.data.url);
    expect(url.origin).toBe(lamp.url);
    expect(url.pathname).toMatch(/^\/wp-content\/uploads\/\d{4}\/\d{2}\/harbour\.jpg$/);

    // Stored in the stand-in of the bucket (.lamp/bucket/<key>), not in the (read-only) code.
    const stored = path.join(root, ".lamp", "bucket", ...url.pathname.slice(1).split("/"));
    expect(readFileSync(stored).equals(image)).toBe(true);
    expect(existsSync(path.join(root, "public", "wp-content", "uploads"))).toBe(false);
    const thumbnails = readdirSync(path.dirname(stored)).sort();
    expect(thumbnails).toEqual(expect.arrayContaining(["harbour-150x150.jpg", "harbour-300x225.jpg", "harbour-768x576.jpg", "harbour.jpg"]));
    expect(Object.keys(result.data.sizes)).toEqual(expect.arrayContaining(["thumbnail", "medium", "full"]));

    // Served by the bucket (no API Gateway request id), as CloudFront's /wp-content/uploads/* behaviour does.
    const served = await browser.request(url.pathname);
    expect(served.status).toBe(200);
    expect(served.headers["content-type"]).toBe("image/jpeg");
    expect(served.headers["apigw-requestid"]).toBeUndefined();
    expect(served.body.equals(image)).toBe(true);
    const thumbnail = await browser.request(new URL(result.data.sizes.thumbnail!.url).pathname);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.body.equals(readFileSync(path.join(path.dirname(stored), "harbour-150x150.jpg")))).toBe(true);
  }, 60_000);

  it("image editing works on the bucket: a rotation is saved as a new file with new thumbnails", async () => {
    expect(upload).toBeDefined();
    const saved = await browser.request("/wp-admin/admin-ajax.php", {
      form: { action: "image-editor", "do": "save", postid: String(upload!.id), history: JSON.stringify([{ r: 90 }]), target: "all", context: "edit-attachment", _ajax_nonce: upload!.nonces.edit },
    });
    expect(saved.status, saved.text.slice(0, 800)).toBe(200);
    expect(JSON.parse(saved.text), saved.text.slice(0, 800)).toMatchObject({ success: true, data: { msg: "Image saved", fw: 600, fh: 800 } });
    const folder = path.join(root, ".lamp", "bucket", ...path.posix.dirname(new URL(upload!.url).pathname).slice(1).split("/"));
    const edited = readdirSync(folder).filter((name) => /^harbour-e\d+\.jpg$/.test(name));
    expect(edited).toHaveLength(1);
    const size = execFileSync("php", ["-r", '$s = getimagesize($argv[1]); echo "$s[0]x$s[1]";', path.join(folder, edited[0]!)]).toString();
    expect(size).toBe("600x800");
    expect(readdirSync(folder).some((name) => /^harbour-e\d+-150x150\.jpg$/.test(name))).toBe(true);
  });

  it("deletes it: the object and its thumbnails leave the bucket, and the URL answers as the bucket does", async () => {
    expect(upload).toBeDefined();
    const deleted = await browser.request("/wp-admin/admin-ajax.php", { form: { action: "delete-post", id: String(upload!.id), _ajax_nonce: upload!.nonces.delete } });
    expect(deleted.text).toBe("1");
    const pathname = new URL(upload!.url).pathname;
    const folder = path.join(root, ".lamp", "bucket", ...path.posix.dirname(pathname).slice(1).split("/"));
    expect(readdirSync(folder).filter((name) => name.startsWith("harbour"))).toEqual([]);
    const gone = await browser.request(pathname);
    expect(gone.status).toBe(403);
  });

  it("a password-reset mail is caught: saved under .lamp/mail/, one log line, nothing sent", async () => {
    const reset = await browser.request("/wp-login.php?action=lostpassword", { form: { user_login: "admin", redirect_to: "", "wp-submit": "Get New Password" } });
    expect(reset.status, reset.text.slice(0, 1500)).toBe(302);
    expect(reset.location).toMatch(/checkemail=confirm/);
    // The installer's "New WordPress Site" mail was caught too.
    expect(mails).toHaveLength(2);
    expect(mails[0]).toMatch(/^mail to admin@example\.com: "New WordPress Site" caught/);
    expect(mails[1]).toMatch(/^mail to admin@example\.com: "\[Lamp Blog\] Password Reset" caught, not sent: \.lamp\/mail\/\S+\.eml — in Lambda it would not be sent: set mail\.from in lamp\.json$/);
    const file = path.join(root, mails[1]!.match(/(\.lamp\/mail\/\S+\.eml)/)![1]!);
    const message = readFileSync(file, "utf8");
    expect(message).toMatch(/^To: admin@example\.com$/m);
    expect(message).toContain("wp-login.php?action=rp");
  });

  it("due cron events do not run on page views, and run from lamp.json's schedule (wp-cron.php through the console handler), their mail caught", async () => {
    expect(JSON.parse(readFileSync(path.join(root, "lamp.json"), "utf8")).schedule).toEqual([{ run: "public/wp-cron.php", rate: "1 minute" }]);
    // Page views have scheduled the job (the test plugin does on init), and not run it.
    await browser.request("/");
    expect(mails.some((line) => line.includes('"cron ran"'))).toBe(false);
    const result = await runLocal({ project: await loadProject(root), args: ["public/wp-cron.php"], output: [1, 2] }, ctx);
    expect(result.exitCode).toBe(0);
    expect(ctx.ui.texts("info").filter((line) => line.includes('"cron ran"'))).toEqual([expect.stringMatching(/^mail to ops@example\.com: "cron ran" caught, not sent: \.lamp\/mail\/\S+\.eml/)]);
    // Run again: nothing due, nothing sent.
    await runLocal({ project: await loadProject(root), args: ["public/wp-cron.php"], output: [1, 2] }, ctx);
    expect(ctx.ui.texts("info").filter((line) => line.includes('"cron ran"'))).toHaveLength(1);
  }, 60_000);

  it("plugin installs are refused with how to add one", async () => {
    const screen = await browser.request("/wp-admin/plugin-install.php");
    expect(screen.status).toBe(403);
    expect(screen.text).toContain("lamp dev --writable");
    const plugins = await browser.request("/wp-admin/plugins.php");
    expect(plugins.status).toBe(200);
    expect(plugins.text).toContain("lamp dev --writable");
  });

  it("with lamp dev --writable, WordPress may install plugins (DISALLOW_FILE_MODS off)", async () => {
    await lamp.close();
    lamp = await startDevServer({ project: await loadProject(root), port: 0, host: "127.0.0.1", workers: 1, phpFpm, writable: true }, ctx, uiDevLog(ctx));
    const writable = new Browser(lamp.url);
    await writable.request("/wp-login.php");
    await writable.request("/wp-login.php", { form: { log: "admin", pwd: "Correct-Horse-Battery-9", "wp-submit": "Log In", redirect_to: "/wp-admin/", testcookie: "1" } });
    const screen = await writable.request("/wp-admin/plugin-install.php");
    expect(screen.status, screen.text.slice(0, 800)).toBe(200);
    expect(screen.text).toMatch(/<title>Add Plugins/);
    expect(screen.text).not.toContain("lamp dev --writable");
  }, 60_000);
});
