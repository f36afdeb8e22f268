import type { LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { webFunction, type Template, type TemplateResource, type TemplateValue } from "../project/sam-template.js";
import { uploadsKeyPrefix, uploadsPathPattern } from "./files.js";

/**
 * A WordPress site's media in the stack's bucket, at package time (template.yaml is not edited): a
 * cache behaviour serving the bucket's wp-content/uploads/ prefix at /wp-content/uploads/* through
 * the bucket's origin (Origin Access Control), the function's permission on exactly that prefix, and
 * LAMP_UPLOADS_BUCKET, which turns the must-use plugin's S3 uploads on. Pure.
 */

/** CloudFront's managed CachingOptimized policy: media are files, cached at the edge, compressed. */
const cachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6";
export const uploadsBucketVariable = "LAMP_UPLOADS_BUCKET";
/** What the must-use plugin stores media with (lamp dev serves its stand-in's files with the same). */
export const uploadsCacheControl = "public, max-age=86400";

type Json = Record<string, TemplateValue>;

function resourceOfType(template: Template, type: string, preferred: string, source: string, what: string): { id: string; resource: TemplateResource } {
  const found = Object.entries(template.Resources ?? {}).filter(([, resource]) => resource.Type === type);
  const chosen = found.find(([id]) => id === preferred) ?? (found.length === 1 ? found[0] : undefined);
  if (!chosen) {
    throw new LampError("config", `${source}: lamp.json says "wordpress", but ${found.length === 0 ? `there is no ${type}` : `no ${type} is named ${preferred}`} (${what}).`, `Restore the ${preferred} of a \`lamp init\` template, or remove "wordpress" from lamp.json.`);
  }
  return { id: chosen[0], resource: chosen[1] };
}

/** The distribution's origin that reads the bucket at its root (lamp's "Assets"). */
function bucketOrigin(distributionConfig: Json, bucketId: string, source: string): string {
  const origins = (distributionConfig.Origins ?? []) as Json[];
  const origin = origins.find((candidate) => {
    const domain = candidate.DomainName as Json | undefined;
    const getAtt = domain?.["Fn::GetAtt"] as TemplateValue[] | undefined;
    return Array.isArray(getAtt) && getAtt[0] === bucketId && candidate.OriginAccessControlId !== undefined && !candidate.OriginPath;
  });
  if (!origin || typeof origin.Id !== "string") {
    throw new LampError("config", `${source}: no CloudFront origin reads ${bucketId} at its root with Origin Access Control, to serve WordPress's media from.`, "Restore the Assets origin of a `lamp init` template.");
  }
  return origin.Id;
}

export function applyWordPress(input: Template, config: Pick<LampConfig, "wordpress">, source = "template.yaml"): Template {
  if (!config.wordpress) return input;
  const template = structuredClone(input);
  const bucket = resourceOfType(template, "AWS::S3::Bucket", "AssetsBucket", source, "the bucket that keeps WordPress's media");
  const distribution = resourceOfType(template, "AWS::CloudFront::Distribution", "Distribution", source, "the distribution that serves them");
  const distributionConfig = ((distribution.resource.Properties ??= {}).DistributionConfig ??= {}) as Json;
  const behaviours = ((distributionConfig.CacheBehaviors ??= []) as Json[]);
  if (!behaviours.some((behaviour) => behaviour.PathPattern === uploadsPathPattern)) {
    behaviours.push({
      PathPattern: uploadsPathPattern,
      TargetOriginId: bucketOrigin(distributionConfig, bucket.id, source),
      ViewerProtocolPolicy: "redirect-to-https",
      AllowedMethods: ["GET", "HEAD"],
      CachedMethods: ["GET", "HEAD"],
      Compress: true,
      CachePolicyId: cachingOptimized,
    });
  }

  const web = webFunction(template, source);
  const properties = (web.resource.Properties ??= {});
  const environment = (properties.Environment ??= {}) as Json;
  const variables = (environment.Variables ??= {}) as Json;
  if (variables[uploadsBucketVariable] !== undefined) {
    throw new LampError("config", `${source}: ${web.id} already sets ${uploadsBucketVariable}, which lamp sets for "wordpress".`, `Remove ${uploadsBucketVariable} from ${source}.`);
  }
  variables[uploadsBucketVariable] = { Ref: bucket.id };
  const policies = properties.Policies === undefined ? [] : Array.isArray(properties.Policies) ? properties.Policies : [properties.Policies];
  policies.push({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WordPressMedia",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        Resource: { "Fn::Sub": `\${${bucket.id}.Arn}/${uploadsKeyPrefix}*` },
      },
      {
        Sid: "WordPressMediaListing",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: { "Fn::GetAtt": [bucket.id, "Arn"] },
        Condition: { StringLike: { "s3:prefix": [`${uploadsKeyPrefix}*`] } },
      },
    ],
  });
  properties.Policies = policies;
  return template;
}
