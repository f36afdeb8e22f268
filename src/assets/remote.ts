import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { S3Client } from "@aws-sdk/client-s3";
import { LampError } from "../core/errors.js";
import { readSmallFile, sha256OfFile, wholeReadLimit } from "./local.js";
import type { LocalAsset, RemoteObject } from "./model.js";
import { s3Sdk } from "./s3-sdk.js";

const { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, paginateListObjectsV2 } = s3Sdk;

/** The object metadata (x-amz-meta-lamp-sha256) that carries lamp's content hash. */
const hashMetadataKey = "lamp-sha256";

/** Files above this go up in parts, streamed; below it, one PUT from memory. */
export const multipartThreshold = 8 * 1024 * 1024;
const partSize = 8 * 1024 * 1024;
/** Parts of one large file in flight at once. */
const partsInFlight = 4;

function stripQuotes(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? "";
}

function missingBucket(bucket: string, error: unknown): LampError {
  return new LampError("not-found", `The bucket "${bucket}" does not exist.`, "Check --bucket, or run `lamp deploy` to create the stack's bucket.", { cause: error });
}

/** Every object under `prefix`, with its size and ETag, following continuation tokens page by page. */
export async function listObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  /** Keys per page; S3's maximum (1,000) unless a test wants many pages. */
  pageSize?: number,
): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client: s3, pageSize }, { Bucket: bucket, Prefix: prefix }, { abortSignal: signal })) {
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        objects.push({ key: item.Key, size: item.Size ?? 0, etag: stripQuotes(item.ETag) });
      }
    }
  } catch (error) {
    if (errorName(error) === "NoSuchBucket") throw missingBucket(bucket, error);
    throw error;
  }
  return objects;
}

/** An object's text and the ETag it was stored under (without quotes; empty when the server gave none). */
export interface StoredText {
  text: string;
  etag: string;
}

/**
 * The object's body as text, or undefined when there is no such key. With `unlessEtag`, a
 * conditional GET (If-None-Match): "not-modified" when the object still has that ETag, so an
 * unchanged object costs one small answer and no body.
 */
export async function readText(s3: S3Client, bucket: string, key: string, signal?: AbortSignal, unlessEtag?: string): Promise<StoredText | "not-modified" | undefined> {
  try {
    const response = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: unlessEtag ? `"${unlessEtag}"` : undefined }),
      { abortSignal: signal },
    );
    const etag = stripQuotes(response.ETag);
    // A server that ignores If-None-Match answers 200 with the same ETag: the same thing said in full.
    if (unlessEtag && etag === unlessEtag) {
      await response.Body?.transformToString("utf8");
      return "not-modified";
    }
    return { text: (await response.Body?.transformToString("utf8")) ?? "", etag };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (unlessEtag && status === 304) return "not-modified";
    if (errorName(error) === "NoSuchKey" || status === 404) return undefined;
    if (errorName(error) === "NoSuchBucket") throw missingBucket(bucket, error);
    throw error;
  }
}

/** Stores `text` as the object `key`; returns the ETag S3 gave it (without quotes; empty when none). */
export async function writeText(s3: S3Client, bucket: string, key: string, text: string, contentType: string, signal?: AbortSignal): Promise<string> {
  const response = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType, CacheControl: "no-store" }),
    { abortSignal: signal },
  );
  return stripQuotes(response.ETag);
}

/** The object's state from its own headers: the hash lamp stored, type and cache policy. */
export async function inspectObject(s3: S3Client, bucket: string, object: RemoteObject, signal?: AbortSignal): Promise<RemoteObject> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: object.key }), { abortSignal: signal });
  return {
    key: object.key,
    size: head.ContentLength ?? object.size,
    etag: stripQuotes(head.ETag) || object.etag,
    sha256: head.Metadata?.[hashMetadataKey],
    contentType: head.ContentType,
    cacheControl: head.CacheControl,
  };
}

export interface UploadedObject {
  etag: string;
  /** The hash of the bytes actually sent (a file edited mid-sync is recorded as sent). */
  sha256: string;
  size: number;
}

/**
 * Uploads one asset with its type, cache policy and content hash. Small files go in one PUT;
 * large ones are streamed in parts (an interrupted multipart upload is aborted, leaving no
 * parts billed in the bucket).
 */
export async function uploadAsset(
  s3: S3Client,
  bucket: string,
  key: string,
  asset: LocalAsset,
  onBytes: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<UploadedObject> {
  const common = { Bucket: bucket, Key: key, ContentType: asset.contentType, CacheControl: asset.cacheControl };
  if (asset.size < multipartThreshold) {
    const body = asset.size <= wholeReadLimit ? readSmallFile(asset.absolutePath, signal) : await readFile(asset.absolutePath, { signal });
    const sha256 = createHash("sha256").update(body).digest("hex");
    const response = await s3.send(
      new PutObjectCommand({ ...common, Body: body, ContentLength: body.length, Metadata: { [hashMetadataKey]: sha256 } }),
      { abortSignal: signal },
    );
    onBytes(body.length);
    return { etag: stripQuotes(response.ETag), sha256, size: body.length };
  }

  // Object metadata goes out before the first part, so a large file's hash must be known up front.
  const sha256 = asset.sha256 ?? (await sha256OfFile(asset.absolutePath, asset.size, signal));
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Loaded only when a large file needs it: a no-op sync never pays for it.
    const { Upload } = await import("@aws-sdk/lib-storage");
    const upload = new Upload({
      client: s3,
      params: { ...common, Body: createReadStream(asset.absolutePath, { highWaterMark: 1024 * 1024 }), Metadata: { [hashMetadataKey]: sha256 } },
      partSize,
      queueSize: partsInFlight,
      leavePartsOnError: false,
      abortController: controller,
    });
    let reported = 0;
    upload.on("httpUploadProgress", (progress) => {
      const loaded = progress.loaded ?? reported;
      if (loaded > reported) {
        onBytes(loaded - reported);
        reported = loaded;
      }
    });
    const response = await upload.done();
    if (asset.size > reported) onBytes(asset.size - reported);
    return { etag: stripQuotes((response as { ETag?: string }).ETag), sha256, size: asset.size };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

export interface DeleteFailure {
  key: string;
  error: string;
}

/** Deletes keys in batches of 1,000 (S3's limit per request); returns the keys S3 refused. */
export async function deleteObjects(s3: S3Client, bucket: string, keys: readonly string[], signal?: AbortSignal): Promise<DeleteFailure[]> {
  const failures: DeleteFailure[] = [];
  for (let start = 0; start < keys.length; start += 1000) {
    const batch = keys.slice(start, start + 1000);
    try {
      const response = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        { abortSignal: signal },
      );
      for (const error of response.Errors ?? []) {
        failures.push({ key: error.Key ?? "?", error: `${error.Code ?? "Error"}: ${error.Message ?? "could not delete"}` });
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      for (const key of batch) failures.push({ key, error: message });
    }
  }
  return failures;
}
