import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { describeStack } from "../core/stack.js";
import { followStack } from "./events.js";

/**
 * The artifacts bucket: one per account and region, shared by every lamp project there, made
 * once by a small bootstrap stack. Code packages and large templates live in it under their
 * content hash, so the same bytes are uploaded once.
 */

export const bootstrapStackName = "lamp-bootstrap";
export const bucketOutput = "ArtifactsBucketName";
/** Old code packages are only needed to roll back; after this long they are gone. */
export const artifactRetentionDays = 90;

/** The bootstrap template: a private, encrypted bucket whose old artifacts expire. */
export function bootstrapTemplate(): string {
  return JSON.stringify({
    AWSTemplateFormatVersion: "2010-09-09",
    Description: "serverless-lamp artifacts: code packages and templates for `lamp deploy` in this account and region",
    Resources: {
      ArtifactsBucket: {
        Type: "AWS::S3::Bucket",
        // Kept when the stack is deleted by hand: deployed stacks may still roll back to its objects.
        DeletionPolicy: "Retain",
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
          LifecycleConfiguration: {
            Rules: [
              { Id: "ExpireOldArtifacts", Status: "Enabled", ExpirationInDays: artifactRetentionDays },
              { Id: "AbortIncompleteUploads", Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
            ],
          },
        },
      },
    },
    Outputs: { [bucketOutput]: { Value: { Ref: "ArtifactsBucket" } } },
  });
}

export interface ArtifactsBucket {
  name: string;
  /** True when this run created it. */
  created: boolean;
}

/** The bucket, creating the bootstrap stack first when this account and region have none. */
export async function ensureArtifactsBucket(ctx: Context, region: string): Promise<ArtifactsBucket> {
  let existing = await describeStack(ctx, bootstrapStackName, region);
  if (existing?.StackStatus === "CREATE_IN_PROGRESS") {
    // Another deploy (or one interrupted a moment ago) is creating it: wait for that instead.
    const waiting = ctx.ui.progress(`Waiting for the artifacts stack ${bootstrapStackName} to be created`);
    await followStack(ctx, { stackName: bootstrapStackName, stackId: existing.StackId ?? bootstrapStackName, region, since: 0, quiet: true });
    waiting.done();
    existing = await describeStack(ctx, existing.StackId ?? bootstrapStackName, region);
  }
  const outputName = (stack: typeof existing) => stack?.Outputs?.find((output) => output.OutputKey === bucketOutput)?.OutputValue;
  if (existing && /_COMPLETE$/.test(existing.StackStatus ?? "") && !/ROLLBACK|DELETE/.test(existing.StackStatus ?? "")) {
    const name = outputName(existing);
    if (name) return { name, created: false };
  }
  if (existing && existing.StackStatus !== "DELETE_COMPLETE") {
    throw new LampError(
      "stack-state",
      `The artifacts stack ${bootstrapStackName} in ${region} is ${existing.StackStatus}, not usable.`,
      `Delete it (\`aws cloudformation delete-stack --stack-name ${bootstrapStackName} --region ${region}\`) and deploy again.`,
    );
  }
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  const progress = ctx.ui.progress(`Creating the artifacts bucket for ${region} (stack ${bootstrapStackName}, once per account and region)`);
  const { StackId } = await cloudformation.send(
    new CreateStackCommand({ StackName: bootstrapStackName, TemplateBody: bootstrapTemplate(), OnFailure: "DELETE", Tags: [{ Key: "lamp:purpose", Value: "artifacts" }] }),
    { abortSignal: ctx.signal },
  );
  const outcome = await followStack(ctx, { stackName: bootstrapStackName, stackId: StackId ?? bootstrapStackName, region, since: ctx.clock.now() - 5_000, quiet: true });
  const created = await describeStack(ctx, StackId ?? bootstrapStackName, region);
  const name = outputName(created);
  if (outcome.status !== "CREATE_COMPLETE" || !name) {
    progress.fail();
    throw new LampError("aws", `Could not create the artifacts bucket: ${outcome.reasons.join("; ") || outcome.status}.`, "Check that your credentials may create S3 buckets and CloudFormation stacks.");
  }
  progress.done(`Created the artifacts bucket ${name}`);
  return { name, created: true };
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === "NotFound" || name === "NoSuchKey" || $metadata?.httpStatusCode === 404;
}

/** Uploads a file under `key` unless the key is already there (keys are content hashes). */
export async function uploadIfMissing(
  ctx: Context,
  options: { bucket: string; key: string; region: string; file?: string; body?: string; contentType: string },
): Promise<"uploaded" | "exists"> {
  const s3 = ctx.aws.client(S3Client, { region: options.region });
  try {
    await s3.send(new HeadObjectCommand({ Bucket: options.bucket, Key: options.key }), { abortSignal: ctx.signal });
    return "exists";
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const size = options.file ? (await stat(options.file)).size : Buffer.byteLength(options.body ?? "");
  const body = options.file ? createReadStream(options.file) : options.body;
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: options.bucket, Key: options.key, Body: body, ContentType: options.contentType, ContentLength: size }),
      { abortSignal: ctx.signal },
    );
  } finally {
    if (body && typeof body !== "string") body.destroy();
  }
  return "uploaded";
}

/** CloudFormation's limit on a template passed inline; larger ones go through S3. */
export const inlineTemplateLimit = 51_200;

/** The https URL CloudFormation fetches a template from (an emulator's endpoint when one is set). */
export function templateUrl(ctx: Context, bucket: string, key: string, region: string): string {
  const endpoint = ctx.aws.settings.endpointUrl;
  if (endpoint) return `${endpoint.replace(/\/+$/, "")}/${bucket}/${key}`;
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://${bucket}.s3.${region}.${suffix}/${key}`;
}
