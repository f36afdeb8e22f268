import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { CloudFormationClient, CreateStackCommand, UpdateStackCommand, type Stack } from "@aws-sdk/client-cloudformation";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { describeStack } from "../project/stack-outputs.js";
import { followStack } from "./events.js";

/**
 * The artifacts bucket: one per account and region, shared by every lamp project there, made
 * once by a small bootstrap stack. Code packages and large templates live in it under their
 * content hash, so the same bytes are uploaded once.
 *
 * The same stack holds the pages' CloudFront cache policy: an account may have only 20 custom
 * cache policies, so lamp spends one per region it deploys to, never one per project or stage.
 * Projects' templates import it by its export name.
 */

export const bootstrapStackName = "lamp-bootstrap";
export const bucketOutput = "ArtifactsBucketName";
export const pageCachePolicyOutput = "PageCachePolicyId";
/** The export template.yaml's default behaviour imports (`!ImportValue lamp-page-cache-policy`). */
export const pageCachePolicyExport = "lamp-page-cache-policy";
/** CloudFront's MaxTTL: a year, the longest Cache-Control lamp sync-assets sets. */
const pageCacheMaxTtl = 31_536_000;

/**
 * The default behaviour's cache policy: nothing is cached unless the origin says so (MinTTL and
 * DefaultTTL 0), up to a year when it does; every cookie and query string in the key, so a
 * logged-in page is never served to anyone else; the viewer's host through X-Forwarded-Host (set
 * by the viewer-request function), never Host, which would then reach API Gateway (403); gzip and
 * brotli on, which CloudFront allows only because MaxTTL is not 0.
 */
function pageCachePolicy(): Record<string, unknown> {
  return {
    Type: "AWS::CloudFront::CachePolicy",
    Properties: {
      CachePolicyConfig: {
        // Names are unique per account; cache policies are global, the stack is per region.
        Name: { "Fn::Sub": "lamp-pages-${AWS::Region}" },
        Comment: "serverless-lamp: pages cached only as their Cache-Control says; cookies, query strings and X-Forwarded-Host in the key",
        MinTTL: 0,
        DefaultTTL: 0,
        MaxTTL: pageCacheMaxTtl,
        ParametersInCacheKeyAndForwardedToOrigin: {
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
          CookiesConfig: { CookieBehavior: "all" },
          QueryStringsConfig: { QueryStringBehavior: "all" },
          HeadersConfig: { HeaderBehavior: "whitelist", Headers: ["X-Forwarded-Host"] },
        },
      },
    },
  };
}
/** Old code packages are only needed to roll back; after this long they are gone. */
const artifactRetentionDays = 90;

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
        UpdateReplacePolicy: "Retain",
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
      PageCachePolicy: pageCachePolicy(),
    },
    Outputs: {
      [bucketOutput]: { Value: { Ref: "ArtifactsBucket" } },
      [pageCachePolicyOutput]: { Value: { Ref: "PageCachePolicy" }, Export: { Name: pageCachePolicyExport } },
    },
  });
}

/** CloudFormation's words when the account already has CloudFront's maximum of custom cache policies. */
const cachePolicyLimitReason = /TooManyCachePolicies|maximum number of cache policies|cache polic(y|ies).*(limit|quota)/i;

function cachePolicyLimitError(region: string, reasons: string[]): LampError {
  return new LampError(
    "aws",
    `Could not add lamp's page cache policy to ${bootstrapStackName} in ${region}: this account already has CloudFront's maximum of custom cache policies (20; ${reasons.join("; ")}).`,
    "Delete an unused one (`aws cloudfront list-cache-policies --type custom`) or ask AWS Service Quotas for more; lamp needs one per region, shared by every project and stage there.",
  );
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
  // UPDATE_ROLLBACK_COMPLETE: an update failed (the cache policy at the quota) and the bucket is as it was.
  if (existing && /_COMPLETE$/.test(existing.StackStatus ?? "") && (!/ROLLBACK|DELETE/.test(existing.StackStatus ?? "") || existing.StackStatus === "UPDATE_ROLLBACK_COMPLETE")) {
    const name = outputName(existing);
    if (name) {
      if (!hasPageCachePolicy(existing)) await addPageCachePolicy(ctx, existing, region);
      return { name, created: false };
    }
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
    if (outcome.reasons.some((reason) => cachePolicyLimitReason.test(reason))) throw cachePolicyLimitError(region, outcome.reasons);
    throw new LampError("aws", `Could not create the artifacts bucket: ${outcome.reasons.join("; ") || outcome.status}.`, "Check that your credentials may create S3 buckets and CloudFormation stacks.");
  }
  progress.done(`Created the artifacts bucket ${name}`);
  return { name, created: true };
}

function hasPageCachePolicy(stack: Stack): boolean {
  return stack.Outputs?.some((output) => output.OutputKey === pageCachePolicyOutput) ?? false;
}

/** A bootstrap stack made by an older lamp: brought up to the current template (its bucket is kept). */
async function addPageCachePolicy(ctx: Context, stack: Stack, region: string): Promise<void> {
  const cloudformation = ctx.aws.client(CloudFormationClient, { region });
  const progress = ctx.ui.progress(`Adding the page cache policy to ${bootstrapStackName} (once per account and region)`);
  const since = ctx.clock.now() - 5_000;
  await cloudformation.send(new UpdateStackCommand({ StackName: stack.StackId ?? bootstrapStackName, TemplateBody: bootstrapTemplate() }), { abortSignal: ctx.signal });
  const outcome = await followStack(ctx, { stackName: bootstrapStackName, stackId: stack.StackId ?? bootstrapStackName, region, since, quiet: true });
  if (outcome.status === "UPDATE_COMPLETE") {
    progress.done("Added the page cache policy");
    return;
  }
  progress.fail();
  if (outcome.reasons.some((reason) => cachePolicyLimitReason.test(reason))) throw cachePolicyLimitError(region, outcome.reasons);
  throw new LampError("aws", `Could not update ${bootstrapStackName} in ${region}: ${outcome.reasons.join("; ") || outcome.status}.`, "Check that your credentials may create CloudFront cache policies.");
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
