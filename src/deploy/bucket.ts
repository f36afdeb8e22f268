import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client, type ObjectIdentifier } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";

function isMissingBucket(error: unknown): boolean {
  return (error as { name?: string }).name === "NoSuchBucket";
}

/**
 * Deletes every object version and delete marker, so CloudFormation (or DeleteBucket) can
 * remove the bucket: S3 refuses to delete a bucket that still holds old versions.
 * Returns how many versions and markers were deleted; 0 when the bucket is already gone.
 */
export async function emptyBucket(ctx: Context, bucket: string, region: string): Promise<number> {
  const s3 = ctx.aws.client(S3Client, { region });
  let deleted = 0;
  // By hand: the SDK has no paginator for ListObjectVersions (two markers).
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    let page;
    try {
      page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }), { abortSignal: ctx.signal });
    } catch (error) {
      if (isMissingBucket(error)) return deleted;
      throw error;
    }
    const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((version) => ({ Key: version.Key!, VersionId: version.VersionId }));
    // A listing page holds at most 1,000 entries, DeleteObjects takes at most 1,000.
    for (let start = 0; start < objects.length; start += 1000) {
      const batch = objects.slice(start, start + 1000);
      const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }), { abortSignal: ctx.signal });
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new LampError("aws", `Could not empty s3://${bucket}: ${failed.length} objects not deleted (${first.Key}: ${first.Code} ${first.Message ?? ""}).`.trim(), "Check the bucket's policy and your permissions.");
      }
      deleted += batch.length;
    }
    if (!page.IsTruncated) return deleted;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

export async function deleteBucket(ctx: Context, bucket: string, region: string): Promise<void> {
  const s3 = ctx.aws.client(S3Client, { region });
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal: ctx.signal });
  } catch (error) {
    if (!isMissingBucket(error)) throw error;
  }
}
