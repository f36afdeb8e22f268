import { execFile } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { packagePath } from "../../src/core/paths.js";
import { startRecordingProxy, useLocalS3 } from "../assets/s3-server.js";

/**
 * lamp/aws.php's S3 client (plain PHP, SigV4) against the S3-compatible server the tests use,
 * which checks every signature: what it stores is read back with the AWS SDK, and the reverse.
 */
const run = promisify(execFile);
const fixture = path.join(import.meta.dirname, "fixtures", "s3-client.php");
const bucket = "media";
const local = useLocalS3([bucket]);
const work = mkdtempSync(path.join(os.tmpdir(), "lamp-s3-php-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function php(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  const environment = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LAMP_AWS_PHP: packagePath("templates", "lamp", "aws.php"),
    LAMP_UPLOADS_BUCKET: bucket,
    LAMP_S3_ENDPOINT: local.server.endpointUrl,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "eu-west-1",
    ...env,
  };
  try {
    const { stdout } = await run("php", [fixture, ...args], { env: environment, maxBuffer: 1 << 20 });
    return JSON.parse(stdout) as unknown;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? "";
    return stdout ? (JSON.parse(stdout) as unknown) : { error: (error as Error).message };
  }
}

describe("lamp/aws.php's S3 client against an S3-compatible server", () => {
  it("puts a file (a key with spaces and non-ASCII), which the SDK reads back byte for byte with its Content-Type", async () => {
    const bytes = randomBytes(70_000);
    writeFileSync(path.join(work, "photo.jpg"), bytes);
    const key = "wp-content/uploads/2026/12/été photo+1.jpg";
    expect(await php(["put", key, path.join(work, "photo.jpg"), "image/jpeg"])).toEqual({ ok: true });
    const object = await local.raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentType).toBe("image/jpeg");
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(bytes)).toBe(true);
    expect(await php(["head", key])).toMatchObject({ size: 70_000, type: "image/jpeg" });
  });

  it("gets what the SDK put, and says when there is no such key", async () => {
    const bytes = randomBytes(5000);
    await local.raw.send(new PutObjectCommand({ Bucket: bucket, Key: "wp-content/uploads/a.bin", Body: bytes }));
    expect(await php(["get", "wp-content/uploads/a.bin", path.join(work, "a.out")])).toEqual({ found: true });
    expect(readFileSync(path.join(work, "a.out")).equals(bytes)).toBe(true);
    expect(await php(["get", "wp-content/uploads/missing.bin", path.join(work, "b.out")])).toEqual({ found: false });
    expect(await php(["head", "wp-content/uploads/missing.bin"])).toBeNull();
  });

  it("lists keys and folders under a prefix, and deletes", async () => {
    for (const name of ["x/1.txt", "x/2.txt", "x/sub/3.txt"]) writeFileSync(path.join(work, "f"), name), await php(["put", `wp-content/uploads/${name}`, path.join(work, "f")]);
    expect(await php(["list", "wp-content/uploads/x/", "/"])).toEqual({ keys: ["wp-content/uploads/x/1.txt", "wp-content/uploads/x/2.txt"], prefixes: ["wp-content/uploads/x/sub/"] });
    expect(await php(["delete", "wp-content/uploads/x/1.txt"])).toEqual({ ok: true });
    expect(await php(["list", "wp-content/uploads/x/"])).toEqual({ keys: ["wp-content/uploads/x/2.txt", "wp-content/uploads/x/sub/3.txt"], prefixes: [] });
  });

  it("uploads a file larger than the part size in parts, whole", async () => {
    const bytes = randomBytes(12 * 1024 * 1024 + 123);
    writeFileSync(path.join(work, "big.bin"), bytes);
    const proxy = await startRecordingProxy(local.server.endpointUrl);
    try {
      expect(await php(["put", "wp-content/uploads/big.bin", path.join(work, "big.bin")], { TEST_PART_SIZE: String(5 * 1024 * 1024), LAMP_S3_ENDPOINT: proxy.endpointUrl })).toEqual({ ok: true });
    } finally {
      await proxy.close();
    }
    expect(proxy.requests.map((request) => `${request.method} ${request.url.replace(/uploadId=[^&]+/, "uploadId=…")} ${request.status}`)).toEqual([
      "POST /media/wp-content/uploads/big.bin?uploads= 200",
      "PUT /media/wp-content/uploads/big.bin?partNumber=1&uploadId=… 200",
      "PUT /media/wp-content/uploads/big.bin?partNumber=2&uploadId=… 200",
      "PUT /media/wp-content/uploads/big.bin?partNumber=3&uploadId=… 200",
      "POST /media/wp-content/uploads/big.bin?uploadId=… 200",
    ]);
    const object = await local.raw.send(new GetObjectCommand({ Bucket: bucket, Key: "wp-content/uploads/big.bin" }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(bytes)).toBe(true);
  }, 60_000);

  it("signs exactly as the AWS SDK's SigV4 signer does (the server here does not check secrets)", async () => {
    const { SignatureV4 } = await import("@smithy/signature-v4");
    // The SDK's hash interface over node:crypto (an HMAC when given a secret).
    class Sha256 {
      private readonly hash: import("node:crypto").Hash | import("node:crypto").Hmac;
      constructor(secret?: unknown) {
        this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", secret as string);
      }
      update(data: unknown): void {
        this.hash.update(data as string);
      }
      digest(): Promise<Uint8Array> {
        return Promise.resolve(this.hash.digest());
      }
    }
    const time = 1_767_225_600; // 2026-01-01T00:00:00Z
    const signed = (await php(["sign", "wp-content/uploads/été a+b.jpg", String(time)], { AWS_SESSION_TOKEN: "token/+=" })) as Record<string, string>;
    const signer = new SignatureV4({ service: "s3", region: "eu-west-1", sha256: Sha256, uriEscapePath: false, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER", sessionToken: "token/+=" } });
    const request = await signer.sign(
      {
        method: "GET",
        protocol: "https:",
        hostname: "media.s3.eu-west-1.amazonaws.com",
        path: "/wp-content/uploads/%C3%A9t%C3%A9%20a%2Bb.jpg",
        query: { "list-type": "2", prefix: "a b/" },
        headers: { host: "media.s3.eu-west-1.amazonaws.com", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { signingDate: new Date(time * 1000) },
    );
    expect(signed.authorization).toBe(request.headers.authorization);
  });
});
