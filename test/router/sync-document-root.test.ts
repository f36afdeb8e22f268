import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncAssets } from "../../src/assets/sync.js";
import { createTestContext } from "../helpers/context.js";
import { useLocalS3 } from "../assets/s3-server.js";

const cloudFront = mockClient(CloudFrontClient);
const s3 = useLocalS3([]);
afterAll(() => cloudFront.restore());

let work: string;
let documentRoot: string;
let bucket: string;
let count = 0;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "lamp-docroot-sync-"));
  documentRoot = path.join(work, "public");
  await mkdir(documentRoot);
  bucket = `docroot-${++count}`;
  await s3.raw.send(new CreateBucketCommand({ Bucket: bucket }));
  cloudFront.reset();
  cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function put(relative: string, content: string | Buffer = `content of ${relative}`): Promise<void> {
  const file = path.join(work, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

async function keys(): Promise<string[]> {
  const page = await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

const context = () => createTestContext({ aws: { region: "us-east-1", endpointUrl: s3.server.endpointUrl } });
const syncDocumentRoot = (options: { force?: boolean } = {}) =>
  syncAssets({ assetsDir: documentRoot, bucket, region: "us-east-1", distributionId: "E2EXAMPLE", documentRoot: true, ...options }, context());

describe("lamp sync-assets for the document root (a WordPress-like tree)", () => {
  it("uploads exactly the allow-listed static files, under document-root/, with the assets' Content-Type and Cache-Control", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 1, 254]);
    await put("public/index.php", "<?php require 'wp-blog-header.php';");
    await put("public/wp-config.php", "<?php define('DB_PASSWORD', 'hunter2');");
    await put("public/wp-config-sample.php");
    await put("public/wp-admin/css/common.min.css", "body{}");
    await put("public/wp-admin/load-scripts.php");
    await put("public/wp-includes/js/jquery/jquery.min.js", "/*! jQuery */");
    await put("public/wp-includes/images/w-logo-blue.png", png);
    await put("public/wp-includes/fonts/dashicons.woff2");
    await put("public/wp-includes/js/app.3f9a1c2e.js");
    await put("public/favicon.ico", Buffer.from([0, 0, 1, 0]));
    await put("public/robots.txt", "User-agent: *\n");
    await put("public/Media/PHOTO.JPG", Buffer.from([0xff, 0xd8, 0xff]));
    await put("public/.htaccess", "RewriteEngine On");
    await put("public/.env", "SECRET=1");
    await put("public/.git/config", "[core]");
    await put("public/.well-known/security.txt", "Contact: x");
    await put("public/wp-content/themes/x/.DS_Store");
    await put("public/composer.json", '{"config":{"github-oauth":"t"}}');
    await put("public/auth.json", "{}");
    await put("public/readme.html", "<p>");
    await put("public/wp-content/debug.log", "PHP Warning");
    await put("public/backup.sql", "INSERT");
    await put("public/phpunit.xml", "<phpunit/>");
    await put("public/script.phtml", "<?php");
    // Code and configuration under a static extension: backups and renamed copies.
    await put("public/wp-config.php.txt", "define('DB_PASSWORD', 'hunter2');");
    await put("public/wp-config.txt", "define('DB_PASSWORD', 'hunter2');");
    await put("public/x.php.css", "<?php");
    await put("public/index.PHP.txt", "<?php");
    await put("public/config.txt", "password=1");
    await put("public/app.env.txt", "SECRET=1");
    await put("public/assets/shadowed.css", "served by /assets/* instead");
    await put("outside/secret.css", "outside the document root");
    // Symlinks: out of the root, to a secret under a static name, and to a static file inside.
    await symlink(path.join(work, "outside", "secret.css"), path.join(documentRoot, "escape.css"));
    await symlink(path.join(documentRoot, "wp-config.php"), path.join(documentRoot, "config.css"));
    await symlink(path.join(documentRoot, ".env"), path.join(documentRoot, "env.txt"));
    await symlink(path.join(documentRoot, "robots.txt"), path.join(documentRoot, "robots-copy.txt"));

    const result = await syncDocumentRoot();
    expect(result.failed).toEqual([]);
    expect(result.prefix).toBe("document-root/");
    expect(await keys()).toEqual([
      ".lamp/document-root-manifest.json",
      "document-root/Media/PHOTO.JPG",
      "document-root/favicon.ico",
      "document-root/robots-copy.txt",
      "document-root/robots.txt",
      "document-root/wp-admin/css/common.min.css",
      "document-root/wp-includes/fonts/dashicons.woff2",
      "document-root/wp-includes/images/w-logo-blue.png",
      "document-root/wp-includes/js/app.3f9a1c2e.js",
      "document-root/wp-includes/js/jquery/jquery.min.js",
    ]);

    const head = (key: string) => s3.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(await head("document-root/wp-admin/css/common.min.css")).toMatchObject({ ContentType: "text/css; charset=utf-8", CacheControl: "public, max-age=300, must-revalidate" });
    expect(await head("document-root/wp-includes/js/app.3f9a1c2e.js")).toMatchObject({ ContentType: "text/javascript; charset=utf-8", CacheControl: "public, max-age=31536000, immutable" });
    expect(await head("document-root/favicon.ico")).toMatchObject({ ContentType: "image/x-icon" });
    const image = await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: "document-root/wp-includes/images/w-logo-blue.png" }));
    expect(Buffer.from(await image.Body!.transformToByteArray())).toEqual(png);
  });

  it("invalidates changed files at the paths visitors use, and deletes only what it owns", async () => {
    await put("public/style.css", "a{}");
    await put("public/gone.js", "1");
    await syncDocumentRoot();
    // Objects of the assets folder share the bucket: a document-root sync never touches them.
    await s3.raw.send(new PutObjectCommand({ Bucket: bucket, Key: "assets/app.css", Body: "x" }));
    await put("public/style.css", "a{color:red}");
    await rm(path.join(documentRoot, "gone.js"));

    const result = await syncDocumentRoot();
    expect(result.uploaded).toBe(1);
    expect(result.deleted).toBe(1);
    expect(await keys()).toEqual([".lamp/document-root-manifest.json", "assets/app.css", "document-root/style.css"]);
    const paths = cloudFront.commandCalls(CreateInvalidationCommand).map((call) => call.args[0].input.InvalidationBatch?.Paths?.Items);
    expect(paths).toEqual([["/gone.js", "/style.css"]]);
  });

  it("deletes the last static file of a document root that still holds PHP, but not the bucket's copy of an empty folder", async () => {
    await put("public/favicon.ico", "ico");
    await syncDocumentRoot();
    await rm(path.join(documentRoot, "favicon.ico"));
    // Empty: a wrong folder or a build that did not run, far more often than a wish to take everything offline.
    await expect(syncDocumentRoot()).rejects.toThrow(/has no files to upload; syncing it would delete all 1 objects under s3:\/\/.*\/document-root\//);
    await put("public/index.php", "<?php");
    const result = await syncDocumentRoot();
    expect(result.deleted).toBe(1);
    expect(await keys()).toEqual([".lamp/document-root-manifest.json"]);
  });
});
