import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { packagePath } from "../../src/core/paths.js";
import { parseTemplate, type Template } from "../../src/project/sam-template.js";
import { StackOutput } from "../../src/project/stack-outputs.js";
import { applyDomain } from "../../src/domain/apply-domain.js";
import { loadCloudFrontFunction } from "../helpers/cloudfront-function.js";
import { planProject } from "../../src/scaffold/init.js";

const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/1111-2222";

async function initTemplate(): Promise<Template> {
  const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
  return parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8"));
}

const distributionConfig = (template: Template) => (template.Resources!.Distribution!.Properties as any).DistributionConfig;
const functionCode = (template: Template) => (template.Resources!.ForwardedHostFunction!.Properties as any).FunctionCode as string;

interface ViewerRequest {
  uri?: string;
  host?: string;
  querystring?: Record<string, { value: string; multiValue?: { value: string }[] }>;
}

/** Runs the function's code the way CloudFront does: `handler(event)` on a viewer request. */
function runViewerRequest(code: string, request: ViewerRequest): any {
  const { handler } = loadCloudFrontFunction(code);
  const headers: Record<string, { value: string }> = request.host ? { host: { value: request.host } } : {};
  return handler({
    version: "1.0",
    context: { eventType: "viewer-request" },
    viewer: { ip: "198.51.100.7" },
    request: { method: "GET", uri: request.uri ?? "/", querystring: request.querystring ?? {}, headers, cookies: {} },
  });
}

describe("the viewer-request function", () => {
  it("is templates/cloudfront/viewer-request.js, copied as it is into the template lamp init writes", async () => {
    const file = await readFile(packagePath("templates", "cloudfront", "viewer-request.js"), "utf8");
    expect(functionCode(await initTemplate())).toBe(`${file.trimEnd()}\n`);
  });

  it("without a domain: passes every host through, copied into X-Forwarded-Host", async () => {
    const code = functionCode(await initTemplate());
    for (const host of ["d111111abcdef8.cloudfront.net", "www.example.com"]) {
      const request = runViewerRequest(code, { host, uri: "/cart", querystring: { id: { value: "7" } } });
      expect(request.statusCode).toBeUndefined();
      expect(request.uri).toBe("/cart");
      expect(request.headers["x-forwarded-host"]).toEqual({ value: host });
      expect(request.headers.host).toEqual({ value: host });
    }
  });
});

describe("applyDomain", () => {
  it("without a domain returns the template unchanged", async () => {
    const template = await initTemplate();
    expect(applyDomain(template, {}, undefined)).toEqual(await initTemplate());
  });

  it("puts every name on the distribution with the certificate, SNI and TLS 1.2 (2021) minimum; the site URL is the main name", async () => {
    const template = await initTemplate();
    const applied = applyDomain(template, { domain: { name: "Example.com.", aliases: ["www.example.com", "*.shop.example.com"] } }, certificateArn);
    const config = distributionConfig(applied);
    expect(config.Aliases).toEqual(["example.com", "www.example.com", "*.shop.example.com"]);
    expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: certificateArn, SslSupportMethod: "sni-only", MinimumProtocolVersion: "TLSv1.2_2021" });
    expect(applied.Outputs!.SiteUrl).toMatchObject({ Value: "https://example.com" });
    expect(applied.Outputs![StackOutput.domainNames]).toMatchObject({ Value: "example.com,www.example.com,*.shop.example.com" });
    expect(applied.Outputs![StackOutput.certificateArn]).toMatchObject({ Value: certificateArn });
    expect(applied.Outputs![StackOutput.distributionDomainName]).toMatchObject({ Value: { "Fn::GetAtt": ["Distribution", "DomainName"] } });
    // Pure: the template it was given still has no domain.
    expect(distributionConfig(template).Aliases).toBeUndefined();
    expect(functionCode(template)).toContain("var mainDomain = '';");
    // The rest of the distribution is as it was.
    expect({ ...config, Aliases: undefined, ViewerCertificate: undefined }).toEqual({ ...distributionConfig(template), Aliases: undefined, ViewerCertificate: undefined });
  });

  it("a plain string is the one name", async () => {
    const applied = applyDomain(await initTemplate(), { domain: "www.example.com" }, certificateArn);
    expect(distributionConfig(applied).Aliases).toEqual(["www.example.com"]);
  });

  it("redirects the CloudFront name and the extra names to the main domain with a 301, path and query kept", async () => {
    const code = functionCode(applyDomain(await initTemplate(), { domain: { name: "www.example.com", aliases: ["example.com"] } }, certificateArn));
    const cases: [ViewerRequest, string][] = [
      [{ host: "d111111abcdef8.cloudfront.net", uri: "/" }, "https://www.example.com/"],
      [{ host: "example.com", uri: "/blog/post-1", querystring: { page: { value: "2" }, q: { value: "a%20b%26c" } } }, "https://www.example.com/blog/post-1?page=2&q=a%20b%26c"],
      [
        { host: "EXAMPLE.com", uri: "/list", querystring: { "tag[]": { value: "a", multiValue: [{ value: "a" }, { value: "b" }] }, flag: { value: "" } } },
        "https://www.example.com/list?tag[]=a&tag[]=b&flag",
      ],
    ];
    for (const [request, location] of cases) {
      const response = runViewerRequest(code, request);
      expect(response.statusCode).toBe(301);
      expect(response.headers.location).toEqual({ value: location });
      expect(response.headers["x-forwarded-host"]).toBeUndefined();
    }
  });

  it("redirects before choosing an origin: a static file asked on another host is redirected too, on the main one it goes to the bucket", async () => {
    const code = functionCode(applyDomain(await initTemplate(), { domain: "www.example.com" }, certificateArn));
    const other = loadCloudFrontFunction(code);
    const redirect = other.handler({ request: { method: "GET", uri: "/favicon.ico", querystring: {}, headers: { host: { value: "d111111abcdef8.cloudfront.net" } }, cookies: {} } });
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toEqual({ value: "https://www.example.com/favicon.ico" });
    expect(other.origins).toEqual([]);
    const main = loadCloudFrontFunction(code);
    main.handler({ request: { method: "GET", uri: "/favicon.ico", querystring: {}, headers: { host: { value: "www.example.com" } }, cookies: {} } });
    expect(main.origins).toHaveLength(1);
  });

  it("keeps the function within CloudFront's 10 KB code limit with the longest main name ACM allows", async () => {
    const longest = `${"a".repeat(60)}.com`; // 64 characters
    const code = functionCode(applyDomain(await initTemplate(), { domain: longest }, certificateArn));
    expect(code).toContain(`var mainDomain = '${longest}';`);
    expect(Buffer.byteLength(code)).toBeLessThan(10 * 1024);
  });

  it("lets the main domain through, any case, with its host in X-Forwarded-Host", async () => {
    const code = functionCode(applyDomain(await initTemplate(), { domain: "www.example.com" }, certificateArn));
    for (const host of ["www.example.com", "WWW.Example.COM"]) {
      const request = runViewerRequest(code, { host, uri: "/account", querystring: { tab: { value: "orders" } } });
      expect(request.statusCode).toBeUndefined();
      expect(request.uri).toBe("/account");
      expect(request.querystring).toEqual({ tab: { value: "orders" } });
      expect(request.headers["x-forwarded-host"]).toEqual({ value: host });
    }
  });

  it("refuses to overwrite aliases, a certificate or outputs the template sets itself", async () => {
    const withAliases = await initTemplate();
    distributionConfig(withAliases).Aliases = ["old.example.com"];
    expect(() => applyDomain(withAliases, { domain: "www.example.com" }, certificateArn)).toThrow(/Distribution sets Aliases, and so does lamp.json's domain/);
    const withCertificate = await initTemplate();
    distributionConfig(withCertificate).ViewerCertificate = { CloudFrontDefaultCertificate: true };
    expect(() => applyDomain(withCertificate, { domain: "www.example.com" }, certificateArn)).toThrow(/sets ViewerCertificate/);
    const withOutput = await initTemplate();
    withOutput.Outputs![StackOutput.certificateArn] = { Value: "x" };
    expect(() => applyDomain(withOutput, { domain: "www.example.com" }, certificateArn)).toThrow(/declares the output CertificateArn/);
  });

  it("says what is missing when the template has no function to carry the redirect", async () => {
    const template = await initTemplate();
    (template.Resources!.ForwardedHostFunction!.Properties as any).FunctionCode = "function handler(event) { return event.request; }";
    expect(() => applyDomain(template, { domain: "www.example.com" }, certificateArn)).toThrow(LampError);
    expect(() => applyDomain(template, { domain: "www.example.com" }, certificateArn)).toThrow(/no `var mainDomain = '';` line/);
    delete distributionConfig(template).DefaultCacheBehavior.FunctionAssociations;
    expect(() => applyDomain(template, { domain: "www.example.com" }, certificateArn)).toThrow(/no viewer-request CloudFront Function/);
  });

  it("refuses names that cannot work, one line each", async () => {
    const template = await initTemplate();
    const attempt = (domain: any) => () => applyDomain(template, { domain }, certificateArn);
    expect(attempt("*.example.com")).toThrow(/is a wildcard; the main name must be one host/);
    expect(attempt("localhost")).toThrow(/is not a domain name/);
    expect(attempt("shop_example.com")).toThrow(/label "shop_example"/);
    expect(attempt("10.0.0.1")).toThrow(/IP address/);
    expect(attempt({ name: "example.com", aliases: ["www.*.example.com"] })).toThrow(/aliases\[0\].*wildcard can only be the first label/);
    expect(attempt({ name: "example.com", aliases: ["*.com"] })).toThrow(/wildcard over a top-level domain/);
    expect(attempt({ name: "example.com", aliases: ["WWW.example.com", "www.example.com"] })).toThrow(/aliases\[1\] "www.example.com" is listed twice/);
    expect(attempt(`${"a".repeat(60)}.example.com`)).toThrow(/ACM allows 64/);
  });
});
