import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/project/sam-template.js";
import { localStack, resolveLocally, withTemplateParameters } from "../../src/dev/local-stack.js";
import { loadCloudFrontFunction } from "../helpers/cloudfront-function.js";
import { planProject } from "../../src/scaffold/init.js";

async function templateFor(options: Partial<{ region: string; php: string; arch: string; memory: string; name: string }> = {}) {
  const { files } = await planProject({
    target: "/unused",
    name: options.name ?? "shop",
    region: options.region ?? "eu-west-1",
    php: options.php ?? "8.4",
    arch: options.arch ?? "arm64",
    memory: options.memory ?? "1024",
    force: false,
  });
  const file = files.find((candidate) => candidate.path === "template.yaml");
  if (!file) throw new Error("no template.yaml");
  return parseTemplate(file.content.toString("utf8")) as Record<string, any>;
}

const resourcesOfType = (template: Record<string, any>, type: string) =>
  Object.entries(template.Resources as Record<string, any>).filter(([, resource]) => resource.Type === type);

describe("template.yaml", () => {
  it("is a SAM template whose function runs Bref 3's PHP-FPM layer on provided.al2023", async () => {
    const template = await templateFor({ region: "eu-west-1", php: "8.4", arch: "arm64", memory: "2048" });
    expect(template.Transform).toBe("AWS::Serverless-2016-10-31");
    const [[, fn] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    const props = fn.Properties;
    expect(props.Runtime).toBe("provided.al2023");
    expect(props.Handler).toBe("public/index.php");
    expect(props.CodeUri).toBe(".");
    expect(props.Architectures).toEqual(["arm64"]);
    expect(props.Layers).toEqual(["arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-84:21"]);
    expect(props.Environment.Variables.BREF_RUNTIME).toBe("fpm");
    expect(props.MemorySize).toBe(2048);
    expect(props.Timeout).toBeLessThan(30);
  });

  it("picks the x86_64 layer and its region's version", async () => {
    const template = await templateFor({ region: "ap-southeast-2", php: "8.2", arch: "x86_64" });
    const [[, fn] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    expect(fn.Properties.Architectures).toEqual(["x86_64"]);
    expect(fn.Properties.Layers).toEqual(["arn:aws:lambda:ap-southeast-2:873528684822:layer:php-82:23"]);
  });

  it("routes / and /{proxy+} with any method through an HTTP API on the $default stage", async () => {
    const template = await templateFor();
    const [[, fn] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    const events = Object.values(fn.Properties.Events as Record<string, any>);
    expect(events.map((event) => [event.Type, event.Properties.Path, event.Properties.Method]).sort()).toEqual([
      ["HttpApi", "/", "ANY"],
      ["HttpApi", "/{proxy+}", "ANY"],
    ]);
    const [[apiId, api] = []] = resourcesOfType(template, "AWS::Serverless::HttpApi");
    expect(api.Properties.StageName).toBe("$default");
    for (const event of events) expect(event.Properties.ApiId).toEqual({ Ref: apiId });
  });

  it("declares the function's log group with a retention", async () => {
    const template = await templateFor();
    const [[fnId] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    const [[, logGroup] = []] = resourcesOfType(template, "AWS::Logs::LogGroup");
    expect(logGroup.Properties.LogGroupName).toEqual({ "Fn::Sub": `/aws/lambda/\${${fnId}}` });
    expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it("keeps the assets bucket private, owner-enforced and encrypted", async () => {
    const template = await templateFor();
    const [[, bucket] = []] = resourcesOfType(template, "AWS::S3::Bucket");
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: "BucketOwnerEnforced" }]);
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toMatch(/AES256|aws:kms/);
    expect(bucket.Properties.AccessControl).toBeUndefined();
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
  });

  it("aborts the assets bucket's incomplete multipart uploads after a day (a killed sync leaves no billed parts)", async () => {
    const template = await templateFor();
    const rules = template.Resources.AssetsBucket.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual({ Id: "AbortIncompleteUploads", Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } });
    // Nothing else: an expiration rule would delete live assets.
    expect(rules.filter((rule: { ExpirationInDays?: number; Expiration?: unknown }) => rule.ExpirationInDays !== undefined || rule.Expiration !== undefined)).toEqual([]);
  });

  it("lets only this distribution read the bucket, through Origin Access Control, and denies plain HTTP", async () => {
    const template = await templateFor();
    const [[bucketId] = []] = resourcesOfType(template, "AWS::S3::Bucket");
    const [[distributionId] = []] = resourcesOfType(template, "AWS::CloudFront::Distribution");
    const [[, policy] = []] = resourcesOfType(template, "AWS::S3::BucketPolicy");
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    const allows = statements.filter((statement) => statement.Effect === "Allow");
    expect(allows).toHaveLength(1);
    expect(allows[0].Principal).toEqual({ Service: "cloudfront.amazonaws.com" });
    expect(allows[0].Action).toBe("s3:GetObject");
    expect(allows[0].Condition.StringEquals["AWS:SourceArn"]["Fn::Sub"]).toContain(`distribution/\${${distributionId}}`);
    const deny = statements.find((statement) => statement.Effect === "Deny");
    expect(deny.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });

    const [[oacId, oac] = []] = resourcesOfType(template, "AWS::CloudFront::OriginAccessControl");
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: "s3",
      SigningBehavior: "always",
      SigningProtocol: "sigv4",
    });
    expect(resourcesOfType(template, "AWS::CloudFront::CloudFrontOriginAccessIdentity")).toEqual([]);
    const origins = template.Resources[distributionId!].Properties.DistributionConfig.Origins as any[];
    const s3Origin = origins.find((origin) => origin.S3OriginConfig);
    expect(s3Origin.OriginAccessControlId).toEqual({ "Fn::GetAtt": [oacId, "Id"] });
    expect(s3Origin.S3OriginConfig.OriginAccessIdentity).toBe("");
    expect(s3Origin.DomainName).toEqual({ "Fn::GetAtt": [bucketId, "RegionalDomainName"] });
  });

  it("sends /assets/* to the bucket, cached, and everything else to the API, cached only as the origin says, with the viewer's host in X-Forwarded-Host", async () => {
    const template = await templateFor();
    const [[, distribution] = []] = resourcesOfType(template, "AWS::CloudFront::Distribution");
    const config = distribution.Properties.DistributionConfig;
    expect(config.HttpVersion).toBe("http2and3");
    expect(config.IPV6Enabled).toBe(true);

    const origins = new Map((config.Origins as any[]).map((origin) => [origin.Id, origin]));
    const apiOrigin = origins.get(config.DefaultCacheBehavior.TargetOriginId);
    expect(apiOrigin.CustomOriginConfig.OriginProtocolPolicy).toBe("https-only");
    expect(apiOrigin.DomainName["Fn::Sub"]).toMatch(/execute-api/);

    const web = config.DefaultCacheBehavior;
    expect(web.ViewerProtocolPolicy).toBe("redirect-to-https");
    expect(web.AllowedMethods).toEqual(expect.arrayContaining(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]));
    expect(web.CachePolicyId).toEqual({ "Fn::ImportValue": "lamp-page-cache-policy" });
    expect(web.OriginRequestPolicyId).toBe("b689b0a8-53d0-40ab-baf2-68738e2966ac");
    expect(web.Compress).toBe(true);
    const [association] = web.FunctionAssociations;
    expect(association.EventType).toBe("viewer-request");
    const [[functionId, cfFunction] = []] = resourcesOfType(template, "AWS::CloudFront::Function");
    expect(association.FunctionARN).toEqual({ "Fn::GetAtt": [functionId, "FunctionMetadata.FunctionARN"] });
    expect(cfFunction.Properties.AutoPublish).toBe(true);
    expect(cfFunction.Properties.FunctionCode).toMatch(/x-forwarded-host/);

    expect(config.CacheBehaviors).toHaveLength(1);
    const assets = config.CacheBehaviors[0];
    expect(assets.PathPattern).toBe("/assets/*");
    expect(origins.get(assets.TargetOriginId).S3OriginConfig).toBeDefined();
    expect(assets.AllowedMethods).toEqual(["GET", "HEAD"]);
    expect(assets.CachePolicyId).toBe("658327ea-f89d-4fab-a63d-7e88639e58f6");
    expect(assets.Compress).toBe(true);
    expect(assets.ViewerProtocolPolicy).toBe("redirect-to-https");
  });

  it("runs the CloudFront function's code: Host is copied to X-Forwarded-Host", async () => {
    const template = await templateFor();
    const [[, cfFunction] = []] = resourcesOfType(template, "AWS::CloudFront::Function");
    const { handler } = loadCloudFrontFunction(cfFunction.Properties.FunctionCode);
    const request = handler({ request: { method: "GET", uri: "/", querystring: {}, headers: { host: { value: "shop.example.com" } } } });
    expect(request.headers["x-forwarded-host"]).toEqual({ value: "shop.example.com" });
    expect(request.headers.host).toEqual({ value: "shop.example.com" });
  });

  it("sends X-Lamp-Origin to the API with a value the function accepts, from NoEcho parameters (not the stack id), and nothing to the bucket", async () => {
    const template = await templateFor();
    const [[, fn] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    const [[, distribution] = []] = resourcesOfType(template, "AWS::CloudFront::Distribution");
    const origins = distribution.Properties.DistributionConfig.Origins as any[];
    const apiOrigin = origins.find((origin) => origin.CustomOriginConfig);
    expect(apiOrigin.OriginCustomHeaders.map((header: any) => header.HeaderName)).toEqual(["X-Lamp-Origin"]);
    expect(origins.find((origin) => origin.S3OriginConfig).OriginCustomHeaders).toBeUndefined();

    const headerValue = apiOrigin.OriginCustomHeaders[0].HeaderValue;
    const functionValue = fn.Properties.Environment.Variables.LAMP_ORIGIN_TOKEN;
    // Parameters a deploy fills (and rotates), never derived from the stack's fixed id, never in an output.
    expect(JSON.stringify([headerValue, functionValue])).not.toContain("AWS::StackId");
    for (const name of ["LampOriginTokenA", "LampOriginTokenB"]) {
      expect((template.Parameters as any)[name]).toMatchObject({ Type: "String", NoEcho: true, MinLength: 32 });
      expect((template.Parameters as any)[name].Default).toBeUndefined();
    }
    expect(JSON.stringify(template.Outputs)).not.toContain("LampOriginToken");
    // Whichever slot CloudFront sends, the function accepts it, and the previous one too.
    for (const slot of ["A", "B"]) {
      const stack = withTemplateParameters(localStack("shop", "eu-west-1"), { ...(template as any), Parameters: { ...(template as any).Parameters, LampOriginSlot: { Default: slot } } });
      const sent = resolveLocally(headerValue, stack)!;
      expect(sent).toBe(stack.parameters![`LampOriginToken${slot}`]);
      expect(resolveLocally(functionValue, stack)!.split(",")).toContain(sent);
      expect(resolveLocally(functionValue, stack)!.split(",")).toHaveLength(2);
    }
  });

  it("returns binary responses: BREF_BINARY_RESPONSES is \"1\"", async () => {
    const template = await templateFor();
    const [[, fn] = []] = resourcesOfType(template, "AWS::Serverless::Function");
    expect(fn.Properties.Environment.Variables.BREF_BINARY_RESPONSES).toBe("1");
  });

  it("ships the runtime layer: php/conf.d/lamp.ini prepends php/lamp-runtime.php from LAMBDA_TASK_ROOT", async () => {
    const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
    const ini = files.find((file) => file.path === "php/conf.d/lamp.ini")!.content.toString("utf8");
    expect(ini).toMatch(/^auto_prepend_file = "\$\{LAMBDA_TASK_ROOT\}\/php\/lamp-runtime\.php"$/m);
    expect(files.some((file) => file.path === "php/lamp-runtime.php")).toBe(true);
  });

  it("outputs what the other commands read", async () => {
    const template = await templateFor();
    expect(Object.keys(template.Outputs).sort()).toEqual(
      ["AssetsBucketName", "DistributionId", "FunctionName", "HttpApiUrl", "LogGroupName", "SiteUrl"].sort(),
    );
    expect(template.Outputs.SiteUrl.Value["Fn::Sub"]).toMatch(/^https:\/\/\$\{\w+\.DomainName\}$/);
  });

  it("names resources so that a 128-character stack name still fits CloudFront's 64-character limits", async () => {
    const template = await templateFor({ name: `a${"b".repeat(127)}` });
    const [[, oac] = []] = resourcesOfType(template, "AWS::CloudFront::OriginAccessControl");
    const [[, cfFunction] = []] = resourcesOfType(template, "AWS::CloudFront::Function");
    // The names are built from the stack id's UUID (36 characters), not the stack name.
    for (const name of [oac.Properties.OriginAccessControlConfig.Name, cfFunction.Properties.Name]) {
      const [, [prefix, selected]] = name["Fn::Join"];
      expect(selected["Fn::Select"][1]["Fn::Split"][1]).toEqual({ Ref: "AWS::StackId" });
      expect(prefix.length + 1 + 36).toBeLessThanOrEqual(64);
    }
  });
});
