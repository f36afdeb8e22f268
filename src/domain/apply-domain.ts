import type { LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { StackOutput } from "../project/stack-outputs.js";
import { declareParameter, type Template, type TemplateParameter, type TemplateResource, type TemplateValue } from "../project/sam-template.js";
import { siteDomain } from "./names.js";

/** What every CloudFront alias record points at (Route 53's hosted zone of CloudFront). */
export const cloudFrontHostedZoneId = "Z2FDTNDATAQYW2";

/** Outputs lamp adds for a custom domain, read back by later deploys, `lamp info` and DNS. */
const domainOutputs = [StackOutput.domainNames, StackOutput.certificateArn, StackOutput.distributionDomainName];

const distributionType = "AWS::CloudFront::Distribution";
const functionType = "AWS::CloudFront::Function";
/** The line of the viewer-request function that holds the main domain (templates/cloudfront/viewer-request.js). */
const mainDomainLine = /^([ \t]*)var mainDomain = (['"])[^'"\n]*\2;[ \t]*$/m;

type Json = Record<string, TemplateValue>;

/** The distribution's certificate: ACM in us-east-1 (CloudFront's rule), found or requested by `lamp deploy`. */
export const certificateParameter: TemplateParameter = {
  name: "DomainCertificateArn",
  description: "The ACM certificate (us-east-1) for lamp.json's domain: lamp deploy finds or requests it and passes its ARN",
  allowedPattern: "^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$",
  constraintDescription: "an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from there)",
};

function distributionOf(template: Template, source: string): { id: string; resource: TemplateResource } {
  const distributions = Object.entries(template.Resources ?? {}).filter(([, resource]) => resource.Type === distributionType);
  const chosen = distributions.find(([id]) => id === "Distribution") ?? (distributions.length === 1 ? distributions[0] : undefined);
  if (!chosen) {
    throw new LampError(
      "config",
      distributions.length === 0 ? `${source} has no ${distributionType} to put lamp.json's domain on.` : `${source} has several distributions and none is named Distribution.`,
      "Restore the Distribution of a `lamp init` template, or remove domain from lamp.json.",
    );
  }
  return { id: chosen[0], resource: chosen[1] };
}

/** The CloudFront function the distribution runs on viewer requests (the default behaviour's). */
function viewerRequestFunction(template: Template, config: Json, source: string): { id: string; resource: TemplateResource } {
  const behaviour = config.DefaultCacheBehavior as Json | undefined;
  const associations = Array.isArray(behaviour?.FunctionAssociations) ? (behaviour.FunctionAssociations as Json[]) : [];
  const association = associations.find((candidate) => candidate.EventType === "viewer-request");
  const arn = association?.FunctionARN as Json | undefined;
  const getAtt = arn?.["Fn::GetAtt"];
  const id = Array.isArray(getAtt) && typeof getAtt[0] === "string" ? getAtt[0] : undefined;
  const resource = id ? template.Resources?.[id] : undefined;
  if (!id || resource?.Type !== functionType || typeof resource.Properties?.FunctionCode !== "string") {
    throw new LampError(
      "config",
      `${source}: the distribution's default behaviour has no viewer-request CloudFront Function (with inline FunctionCode) to redirect other hosts to lamp.json's domain.`,
      "Restore ForwardedHostFunction and its association from a `lamp init` template.",
    );
  }
  return { id, resource };
}

/**
 * The template with lamp.json's domain on the distribution: its names as Aliases, the ACM
 * certificate (SNI, TLS 1.2 minimum), the viewer-request function redirecting every other host
 * to the main name, and the site URL on that name. Without a domain the template is returned
 * as it is, so removing `domain` detaches it on the next deploy. Pure: the input is not changed.
 */
export function applyDomain(input: Template, config: Pick<LampConfig, "domain">, certificate?: TemplateValue, source = "template.yaml"): Template {
  const domain = siteDomain(config.domain);
  if (!domain) return input;
  const template = structuredClone(input);
  // Without a literal ARN (the deployable template), a parameter the deploy fills.
  const certificateArn = certificate ?? declareParameter(template, certificateParameter);
  const distribution = distributionOf(template, source);
  const distributionProperties = (distribution.resource.Properties ??= {});
  const distributionConfig = (distributionProperties.DistributionConfig ??= {}) as Json;
  for (const property of ["Aliases", "ViewerCertificate"]) {
    if (distributionConfig[property] !== undefined) {
      throw new LampError(
        "config",
        `${source}: ${distribution.id} sets ${property}, and so does lamp.json's domain.`,
        `Remove ${property} from ${distribution.id} in ${source} (lamp.json's domain sets it), or remove domain from lamp.json.`,
      );
    }
  }
  distributionConfig.Aliases = domain.names;
  distributionConfig.ViewerCertificate = { AcmCertificateArn: certificateArn, SslSupportMethod: "sni-only", MinimumProtocolVersion: "TLSv1.2_2021" };

  const viewerRequest = viewerRequestFunction(template, distributionConfig, source);
  const properties = viewerRequest.resource.Properties!;
  const code = properties.FunctionCode as string;
  if (!mainDomainLine.test(code)) {
    throw new LampError(
      "config",
      `${source}: ${viewerRequest.id}'s code has no \`var mainDomain = '';\` line, where lamp writes the domain that other hosts redirect to.`,
      "Take the function's code from a new `lamp init` project (see docs/domains.md).",
    );
  }
  properties.FunctionCode = code.replace(mainDomainLine, (_, indent: string) => `${indent}var mainDomain = '${domain.main}';`);

  const outputs = (template.Outputs ??= {}) as Record<string, TemplateValue>;
  for (const key of domainOutputs) {
    if (outputs[key] !== undefined) {
      throw new LampError("config", `${source} declares the output ${key}, which lamp.json's domain adds.`, `Rename or remove the output ${key} in ${source}.`);
    }
  }
  outputs[StackOutput.siteUrl] = { Description: "The site, on its custom domain", Value: `https://${domain.main}` };
  outputs[StackOutput.domainNames] = { Description: "The custom domain's names (main first), for the next deploy and lamp info", Value: domain.names.join(",") };
  outputs[StackOutput.certificateArn] = { Description: "The ACM certificate (us-east-1) the distribution serves", Value: certificateArn };
  outputs[StackOutput.distributionDomainName] = { Description: "Where the domain's DNS records point", Value: { "Fn::GetAtt": [distribution.id, "DomainName"] } };
  return template;
}
