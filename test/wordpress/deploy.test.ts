import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy } from "../../src/deploy/deploy.js";
import { packagePath } from "../../src/core/paths.js";
import { scaffold } from "../../src/scaffold/init.js";
import { createTestContext, type FakeClock } from "../helpers/context.js";
import { fakeCloudFormation } from "../deploy/fake-cloudformation.js";
import { deployStandIns } from "../deploy/stand-ins.js";

/**
 * lamp deploy of a `lamp init --wordpress` project (CloudFormation faked, S3 real): the template gets
 * the media behaviour and permission, the package holds lamp's WordPress files (a deleted one is
 * written again) but not old uploads, and the assets sync leaves the media in the bucket alone.
 */
const artifactsBucket = "lamp-artifacts-test";
const assetsBucket = "blog-assets";
const aws = deployStandIns({ artifactsBucket, buckets: [assetsBucket] });
const { s3 } = aws;
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let work: string;
let root: string;

beforeEach(async () => {
  ({ clock, cfn } = aws);
  work = await mkdtemp(path.join(tmpdir(), "lamp-wp-deploy-"));
  root = path.join(work, "blog");
  await scaffold({ target: root, name: "blog", region: "eu-west-1", php: "8.4", arch: "x86_64", memory: "1024", force: false, wordpress: true }, new AbortController().signal);
  // A stand-in for WordPress's files and for what `composer install` adds.
  await writeFile(path.join(root, "public", "index.php"), "<?php require __DIR__ . '/wp-blog-header.php';\n");
  await mkdir(path.join(root, "public", "wp-content", "uploads", "2020"), { recursive: true });
  await writeFile(path.join(root, "public", "wp-content", "uploads", "2020", "old.jpg"), "old media");
  await mkdir(path.join(root, "vendor", "bref", "bref"), { recursive: true });
  await mkdir(path.join(root, "vendor", "composer"), { recursive: true });
  await writeFile(path.join(root, "vendor", "autoload.php"), "<?php\n");
  await writeFile(path.join(root, "vendor", "bref", "bref", "composer.json"), '{"name": "bref/bref"}\n');
  await mkdir(path.join(root, "vendor", "bref", "bref", "src", "FpmRuntime"), { recursive: true });
  for (const file of ["Main.php", "FpmHandler.php"]) await writeFile(path.join(root, "vendor", "bref", "bref", "src", "FpmRuntime", file), "<?php\n");
  await writeFile(path.join(root, "vendor", "composer", "installed.json"), JSON.stringify({ packages: [{ name: "bref/bref", version: "3.0.9" }] }));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("lamp deploy of a WordPress project", () => {
  it("sends the media behaviour and permission, packages lamp's WordPress files (rewriting a deleted one) without old uploads, and never syncs over media", async () => {
    await rm(path.join(root, "lamp", "aws.php"));
    await s3.raw.send(new PutObjectCommand({ Bucket: assetsBucket, Key: "wp-content/uploads/2026/01/photo.jpg", Body: "a visitor's upload" }));
    const ctx = createTestContext({ cwd: root, aws: { endpointUrl: s3.server.endpointUrl }, clock, yes: true });
    const result = await deploy({ root, assets: true, force: false }, ctx);
    expect(result.status, JSON.stringify(result)).toBe("deployed");
    expect(ctx.ui.texts("info").join("\n")).toMatch(/Wrote lamp\/aws\.php \(lamp\.json "wordpress"/);
    expect(await readFile(path.join(root, "lamp", "aws.php"))).toEqual(await readFile(packagePath("templates", "lamp", "aws.php")));

    const sent = JSON.parse(cfn.created.at(-1)!.TemplateBody!);
    const behaviours = sent.Resources.Distribution.Properties.DistributionConfig.CacheBehaviors.map((behaviour: any) => behaviour.PathPattern);
    expect(behaviours).toEqual(["/assets/*", "/wp-content/uploads/*"]);
    const web = sent.Resources.WebFunction.Properties;
    expect(web.Environment.Variables.LAMP_UPLOADS_BUCKET).toEqual({ Ref: "AssetsBucket" });
    expect(web.Handler).toBe("lamp/router.php");
    expect(web.Layers.some((arn: string) => arn.includes(":layer:gd-php-84:"))).toBe(true);

    const object = await s3.raw.send(new GetObjectCommand({ Bucket: artifactsBucket, Key: result.status === "deployed" ? result.package.key : "" }));
    const zip = Buffer.from(await object.Body!.transformToByteArray());
    const central = zip.subarray(zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
    for (const name of ["lamp/aws.php", "lamp/sendmail.php", "php/conf.d/lamp-mail.ini", "public/wp-config.php", "public/wp-content/db.php", "public/wp-content/mu-plugins/lamp.php", "public/wp-content/mu-plugins/lamp/uploads.php"]) {
      expect(central.includes(Buffer.from(name)), name).toBe(true);
    }
    expect(central.includes(Buffer.from("wp-content/uploads/2020/old.jpg"))).toBe(false);

    // The sync ran against this bucket, and left the media prefix alone.
    await expect(s3.raw.send(new HeadObjectCommand({ Bucket: assetsBucket, Key: "assets/style.css" }))).resolves.toBeDefined();
    await expect(s3.raw.send(new HeadObjectCommand({ Bucket: assetsBucket, Key: "wp-content/uploads/2026/01/photo.jpg" }))).resolves.toBeDefined();
  }, 60_000);
});
