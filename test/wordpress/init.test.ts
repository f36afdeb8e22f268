import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packagePath } from "../../src/core/paths.js";
import { runLamp } from "../helpers/run-lamp.js";

/** `lamp init --wordpress`, as a user runs it: a new site, and an existing site's folder with --force. */
let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "lamp-init-wp-"));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
}

describe("lamp init --wordpress", () => {
  it("a new site: router, database, x86_64 with gd, lamp's WordPress files, and how to get WordPress", async () => {
    const run = await runLamp(["init", "blog", "--wordpress", "--yes", "--region", "eu-west-1", "--php", "8.3"], { cwd: scratch });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const project = path.join(scratch, "blog");
    const files = await tree(project);
    expect(files).toEqual(expect.arrayContaining([
      "lamp/aws.php", "lamp/router.php", "lamp/sendmail.php", "php/conf.d/lamp-mail.ini", "php/rds-ca-bundle.pem",
      "public/wp-config.php", "public/wp-content/db.php", "public/wp-content/mu-plugins/lamp.php",
      "public/wp-content/mu-plugins/lamp/site.php", "public/wp-content/mu-plugins/lamp/uploads.php",
    ]));
    // WordPress brings its own index.php: not the sample page.
    expect(files).not.toContain("public/index.php");
    expect(await readFile(path.join(project, "public/wp-config.php"))).toEqual(await readFile(packagePath("templates", "wordpress", "wp-config.php")));
    const config = JSON.parse(await readFile(path.join(project, "lamp.json"), "utf8"));
    expect(config).toMatchObject({ router: true, documentRoot: "public", wordpress: true, php: { extensions: ["gd"] }, database: { name: "blog" }, package: { exclude: ["public/wp-content/uploads"] } });
    const template = await readFile(path.join(project, "template.yaml"), "utf8");
    expect(template).toMatch(/Architectures:\s+- x86_64/);
    expect(template).toContain("Handler: lamp/router.php");
    expect(run.stdout).toContain("https://wordpress.org/latest.tar.gz");
    expect(run.stdout).toContain("sha1sum -c -");
  });

  it("--arch arm64 is refused with the fix (GD's layer is x86_64 only), and nothing is written", async () => {
    const run = await runLamp(["init", "blog", "--wordpress", "--yes", "--arch", "arm64", "--region", "eu-west-1", "--php", "8.3"], { cwd: scratch });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--wordpress needs --arch x86_64, not arm64/);
    expect(existsSync(path.join(scratch, "blog"))).toBe(false);
  });

  it("an existing site's folder with --force: WordPress and its files are kept, wp-config.php replaced and the old one set aside, .lamp/ git-ignored", async () => {
    const site = path.join(scratch, "site");
    await mkdir(path.join(site, "public", "wp-content", "themes", "mine"), { recursive: true });
    await writeFile(path.join(site, "public", "wp-settings.php"), "<?php // WordPress\n");
    await writeFile(path.join(site, "public", "index.php"), "<?php // WordPress's index\n");
    await writeFile(path.join(site, "public", "wp-config.php"), "<?php define('DB_PASSWORD', 'old-host-secret');\n");
    await writeFile(path.join(site, "public", "wp-content", "themes", "mine", "style.css"), "/* Theme Name: mine */\n");
    await writeFile(path.join(site, "README.md"), "# My site\n");
    await writeFile(path.join(site, ".gitignore"), "/node_modules/");

    const refused = await runLamp(["init", "site", "--wordpress", "--yes", "--region", "eu-west-1", "--php", "8.3"], { cwd: scratch });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is not empty/);

    const run = await runLamp(["init", "site", "--wordpress", "--force", "--yes", "--region", "eu-west-1", "--php", "8.3"], { cwd: scratch });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Replaced public\/wp-config\.php; the old copy is in \.lamp\/before-lamp\//);
    expect(await readFile(path.join(site, "public", "index.php"), "utf8")).toBe("<?php // WordPress's index\n");
    expect(await readFile(path.join(site, "public", "wp-content", "themes", "mine", "style.css"), "utf8")).toBe("/* Theme Name: mine */\n");
    expect(await readFile(path.join(site, "README.md"), "utf8")).toBe("# My site\n");
    expect(await readFile(path.join(site, "public", "wp-config.php"))).toEqual(await readFile(packagePath("templates", "wordpress", "wp-config.php")));
    expect(await readFile(path.join(site, ".lamp", "before-lamp", "public", "wp-config.php"), "utf8")).toContain("old-host-secret");
    expect(await readFile(path.join(site, ".gitignore"), "utf8")).toMatch(/^\/node_modules\/\n# lamp dev's local state.*\n\/\.lamp\/\n$/);
    expect(JSON.parse(await readFile(path.join(site, "lamp.json"), "utf8"))).toMatchObject({ documentRoot: "public", wordpress: true });
    expect(run.stdout).not.toContain("latest.tar.gz");
  });

  it("WordPress at the folder's top level is refused, saying how to move it into public/", async () => {
    const site = path.join(scratch, "flat");
    await mkdir(site);
    await writeFile(path.join(site, "wp-settings.php"), "<?php\n");
    const run = await runLamp(["init", "flat", "--wordpress", "--force", "--yes", "--region", "eu-west-1", "--php", "8.3"], { cwd: scratch });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds WordPress at its top level/);
    expect(run.stderr).toMatch(/mkdir public/);
    expect(await tree(site)).toEqual(["wp-settings.php"]);
  });
});

describe("a moved-in site's media", () => {
  it("lamp dev says how to copy media left in the code's wp-content/uploads into the bucket, until they are there", async () => {
    const { strandedUploads } = await import("../../src/wordpress/files.js");
    const config = { documentRoot: "public", wordpress: true };
    expect(await strandedUploads(scratch, config)).toBeUndefined();
    await mkdir(path.join(scratch, "public", "wp-content", "uploads", "2019"), { recursive: true });
    expect(await strandedUploads(scratch, config)).toMatch(/^public\/wp-content\/uploads\/ holds media that WordPress no longer reads.*cp -R public\/wp-content\/uploads \.lamp\/bucket\/wp-content\//);
    expect(await strandedUploads(scratch, { ...config, wordpress: false })).toBeUndefined();
    await mkdir(path.join(scratch, ".lamp", "bucket", "wp-content", "uploads", "2019"), { recursive: true });
    expect(await strandedUploads(scratch, config)).toBeUndefined();
  });
});
