import { randomUUID } from "node:crypto";
import { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand } from "@aws-sdk/client-cloudfront";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";

/** CloudFront is global; its API lives in us-east-1. */
const cloudFrontRegion = "us-east-1";

function cloudFront(ctx: Context): CloudFrontClient {
  return ctx.aws.client(CloudFrontClient, { region: cloudFrontRegion });
}

/** Sends one invalidation; its CallerReference is unique so a retry is never taken for a replay. */
export async function createInvalidation(ctx: Context, distributionId: string, paths: readonly string[]): Promise<string> {
  const callerReference = `lamp-sync-assets-${ctx.clock.now()}-${randomUUID()}`;
  const response = await cloudFront(ctx).send(
    new CreateInvalidationCommand({
      DistributionId: distributionId,
      InvalidationBatch: { CallerReference: callerReference, Paths: { Quantity: paths.length, Items: [...paths] } },
    }),
    { abortSignal: ctx.signal },
  );
  const id = response.Invalidation?.Id;
  if (!id) throw new LampError("aws", `CloudFront accepted the invalidation for ${distributionId} but returned no id.`);
  return id;
}

export interface WaitOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

/**
 * Polls until CloudFront reports the invalidation Completed (usually under a minute, at
 * times several). Time comes from ctx.clock, so tests need no real waiting.
 */
export async function waitForInvalidation(ctx: Context, distributionId: string, id: string, options: WaitOptions = {}): Promise<void> {
  const intervalMs = options.intervalMs ?? 5_000;
  const deadline = ctx.clock.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const response = await cloudFront(ctx).send(new GetInvalidationCommand({ DistributionId: distributionId, Id: id }), { abortSignal: ctx.signal });
    if (response.Invalidation?.Status === "Completed") return;
    if (ctx.clock.now() + intervalMs > deadline) {
      throw new LampError(
        "failed",
        `Invalidation ${id} on ${distributionId} has not completed after ${Math.round((options.timeoutMs ?? 15 * 60_000) / 60_000)} minutes.`,
        "It goes on in CloudFront; check it with `aws cloudfront get-invalidation`.",
      );
    }
    await ctx.clock.sleep(intervalMs, ctx.signal);
  }
}
