import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { packagePath } from "../../src/core/paths.js";
import { useLocalS3 } from "../assets/s3-server.js";

/**
 * The must-use plugin's lamp-s3:// stream wrapper against the S3-compatible server the tests use
 * (as S3 answers, not lamp dev's stand-in): the file functions WordPress's media code relies on.
 */
const run = promisify(execFile);
const local = useLocalS3(["media"]);

describe("lamp-s3:// over S3", () => {
  it("folders, writes, appends, exclusive opens, copies, renames, listings, missing files and deletes behave as on a disk", async () => {
    const { stdout } = await run("php", [path.join(import.meta.dirname, "fixtures", "stream-wrapper.php")], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LAMP_AWS_PHP: packagePath("templates", "lamp", "aws.php"),
        LAMP_UPLOADS_PHP: packagePath("templates", "wordpress", "wp-content", "mu-plugins", "lamp", "uploads.php"),
        LAMP_UPLOADS_BUCKET: "media",
        LAMP_S3_ENDPOINT: local.server.endpointUrl,
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
        AWS_REGION: "eu-west-1",
      },
    });
    expect(JSON.parse(stdout)).toEqual({
      "dir before": false,
      mkdir: true,
      "dir after mkdir": true,
      put: 5,
      exists: true,
      is_file: true,
      size: 5,
      read: "hello",
      append: 6,
      "read after append": "hello world",
      "exclusive on existing": false,
      copy: true,
      rename: true,
      // (A listing of wp-content/uploads/ itself is not checked here: s3rver returns no CommonPrefixes for
      // keys two levels below a prefix, where S3 and lamp dev's stand-in return "2026/".)
      scandir: ["a.txt", "renamed.php"],
      missing: false,
      "read missing": false,
      unlink: true,
      "exists after unlink": false,
    });
    const renamed = await local.raw.send(new GetObjectCommand({ Bucket: "media", Key: "wp-content/uploads/2026/05/renamed.php" }));
    expect(await renamed.Body!.transformToString()).toContain("lamp-s3://");
  });
});
