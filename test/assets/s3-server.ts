import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, vi } from "vitest";

/** A real S3-compatible server (npm `s3rver`) on a free localhost port, with its data in a temp folder. */
export interface LocalS3 {
  endpointUrl: string;
  directory: string;
  close(): Promise<void>;
}

/** s3rver's own default keys; the SDK reads them from the environment. */
export const localS3Credentials = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

const script = fileURLToPath(new URL("./s3rver-process.mjs", import.meta.url));

export async function startLocalS3(buckets: string[] = []): Promise<LocalS3> {
  const directory = await mkdtemp(path.join(tmpdir(), "lamp-s3rver-"));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", script, directory], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code} before listening`)));
    child.once("error", reject);
  });
  const endpointUrl = `http://127.0.0.1:${port}`;
  if (buckets.length > 0) {
    const s3 = new S3Client({ region: "us-east-1", endpoint: endpointUrl, forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    for (const Bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket }));
    s3.destroy();
  }
  return {
    endpointUrl,
    directory,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.stdin.end();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: starts the server before its tests (with its keys in the environment, as the
 * SDK reads them) and stops it after. `raw` is a plain client for checking what the bucket holds.
 */
export function useLocalS3(buckets: string[] = []): { readonly server: LocalS3; readonly raw: S3Client } {
  let server: LocalS3 | undefined;
  let raw: S3Client | undefined;
  beforeAll(async () => {
    for (const [name, value] of Object.entries(localS3Credentials)) vi.stubEnv(name, value);
    vi.stubEnv("AWS_PROFILE", "");
    server = await startLocalS3(buckets);
    raw = new S3Client({ region: "us-east-1", endpoint: server.endpointUrl, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED" });
  });
  afterAll(async () => {
    raw?.destroy();
    await server?.close();
    vi.unstubAllEnvs();
  });
  return {
    get server() {
      if (!server) throw new Error("useLocalS3: the server starts in beforeAll");
      return server;
    },
    get raw() {
      if (!raw) throw new Error("useLocalS3: the client is made in beforeAll");
      return raw;
    },
  };
}

/** One request as the server received it, with the status it answered. */
export interface SeenRequest {
  method: string;
  /** Path and query, e.g. `/site/?list-type=2&prefix=assets%2F`. */
  url: string;
  ifNoneMatch?: string;
  status: number;
}

/**
 * A plain HTTP relay in front of a server that records every request lamp sends: tests count
 * real requests on the wire, not calls inside lamp. Headers pass unchanged (the Host the client
 * signed included), so the server still checks the signatures.
 */
export async function startRecordingProxy(target: string): Promise<{ endpointUrl: string; requests: SeenRequest[]; close(): Promise<void> }> {
  const { createServer, request } = await import("node:http");
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  const server = createServer((incoming, answer) => {
    const seen: SeenRequest = { method: incoming.method ?? "", url: incoming.url ?? "", status: 0 };
    const ifNoneMatch = incoming.headers["if-none-match"];
    if (typeof ifNoneMatch === "string") seen.ifNoneMatch = ifNoneMatch;
    requests.push(seen);
    const relay = request({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (response) => {
      seen.status = response.statusCode ?? 0;
      answer.writeHead(seen.status, response.headers);
      response.pipe(answer);
    });
    relay.on("error", () => answer.destroy());
    incoming.pipe(relay);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpointUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
