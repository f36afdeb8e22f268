import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DescribeCertificateCommand, RequestCertificateCommand } from "@aws-sdk/client-acm";
import { ListHostedZonesCommand } from "@aws-sdk/client-route-53";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { deploy, type DeployResult } from "../../src/deploy/deploy.js";
import { certificateToken } from "../../src/domain/names.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { createTestContext, type FakeClock, type TestContext } from "../helpers/context.js";
import { fakeCloudFormation, fakeDistributionDomainName } from "../deploy/fake-cloudformation.js";
import { makeProject, type TestProject } from "../deploy/project.js";
import { fakeAcm, fakeRoute53, validationRecordFor } from "./fakes.js";
import { deployStandIns } from "../deploy/stand-ins.js";

const artifactsBucket = "lamp-artifacts-test";
const aws = deployStandIns({ artifactsBucket, buckets: ["shop-assets"], bootstrap: true });
const { s3 } = aws;
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let acm: ReturnType<typeof fakeAcm>;
let dns: ReturnType<typeof fakeRoute53>;
let project: TestProject;

const zoneId = "Z0EXAMPLE";

beforeEach(async () => {
  ({ clock, cfn } = aws);
  acm?.mock.restore();
  acm = fakeAcm();
  dns?.mock.restore();
  // The public example.com zone, a private twin that must be ignored, and a look-alike.
  dns = fakeRoute53([
    { id: "ZPRIVATE", name: "example.com", private: true },
    { id: zoneId, name: "example.com" },
    { id: "ZLOOKALIKE", name: "ample.com" },
  ]);
  project = await makeProject();
});
afterEach(async () => {
  await project.remove();
});

async function setDomain(domain: unknown): Promise<void> {
  const file = path.join(project.root, "lamp.json");
  const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  if (domain === undefined) delete config.domain;
  else config.domain = domain;
  await writeFile(file, JSON.stringify(config, null, 2));
}

// --region eu-west-1 (the project's region too): the certificate must still come from us-east-1.
const context = (): TestContext => createTestContext({ cwd: project.root, aws: { endpointUrl: s3.server.endpointUrl, region: "eu-west-1" }, clock });
const run = (ctx: TestContext) => deploy({ root: project.root, assets: false, force: false }, ctx);

/** The distribution as CloudFormation resolves it: the certificate's parameter replaced by the value the change set gave. */
function sentDistribution(index = -1): Record<string, any> {
  const input = cfn.created.at(index)!;
  const template = JSON.parse(input.TemplateBody!) as Record<string, any>;
  const config = template.Resources.Distribution.Properties.DistributionConfig;
  const certificate = config.ViewerCertificate?.AcmCertificateArn;
  if (certificate?.Ref) {
    expect(template.Parameters[certificate.Ref]).toMatchObject({ Type: "String" });
    config.ViewerCertificate.AcmCertificateArn = input.Parameters?.find((parameter) => parameter.ParameterKey === certificate.Ref)?.ParameterValue;
  }
  return config;
}

async function acmRegions(): Promise<string[]> {
  return Promise.all(acm.mock.calls().map((call) => (call.thisValue as { config: { region: () => Promise<string> } }).config.region()));
}

function expectDeployed(result: DeployResult): asserts result is Extract<DeployResult, { status: "deployed" }> {
  expect(result.status).toBe("deployed");
}

const aliasTo = (target: string) => ({ HostedZoneId: "Z2FDTNDATAQYW2", DNSName: target, EvaluateTargetHealth: false });

describe("lamp deploy with a domain whose zone is in Route 53", () => {
  it("reuses an issued certificate that covers every name (a wildcard covering www), then points the names at the distribution", async () => {
    await setDomain({ name: "www.example.com", aliases: ["example.com"] });
    acm.add({ names: ["shop.example.com"], status: "ISSUED" });
    acm.add({ names: ["*.example.com"], status: "ISSUED" }); // covers www, not the apex
    const covering = acm.add({ names: ["example.com", "*.example.com"], status: "ISSUED", notAfter: new Date("2027-01-01") });
    const ctx = context();
    const result = await run(ctx);

    expectDeployed(result);
    expect(acm.requests).toEqual([]);
    expect(new Set(await acmRegions())).toEqual(new Set(["us-east-1"]));
    const distribution = sentDistribution();
    expect(distribution.Aliases).toEqual(["www.example.com", "example.com"]);
    expect(distribution.ViewerCertificate).toEqual({ AcmCertificateArn: covering.arn, SslSupportMethod: "sni-only", MinimumProtocolVersion: "TLSv1.2_2021" });
    expect(result.outputs.siteUrl).toBe("https://www.example.com");
    expect(result.domain).toMatchObject({ certificate: "reused", certificateArn: covering.arn });

    for (const name of ["www.example.com", "example.com"]) {
      for (const type of ["A", "AAAA"]) expect(dns.find(zoneId, name, type)?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    }
    expect(dns.all("ZPRIVATE")).toEqual([]);
    expect(dns.all("ZLOOKALIKE")).toEqual([]);
    expect(ctx.ui.texts().join("\n")).toMatch(/www\.example\.com points at d111111abcdef8\.cloudfront\.net \(A and AAAA alias records in example\.com\)/);

    // The next deploy finds everything in place: no change to the zone, no new certificate.
    const written = dns.changes.length;
    const again = await run(context());
    expect(again.status).toBe("no-changes");
    expect(dns.changes.length).toBe(written);
    expect(acm.requests).toEqual([]);
  });

  it("requests a DNS-validated certificate, writes its validation records in the zone, waits for ISSUED, then deploys", async () => {
    await setDomain("www.example.com");
    // ACM validates once the CNAME it asked for is in the zone, as the real one does.
    acm.validateWhen((certificate) => (dns.find(zoneId, validationRecordFor(certificate.names[0]!).Name, "CNAME") ? "ISSUED" : undefined));
    const ctx = context();
    const result = await run(ctx);

    expectDeployed(result);
    expect(acm.requests).toHaveLength(1);
    expect(acm.requests[0]).toMatchObject({ DomainName: "www.example.com", SubjectAlternativeNames: ["www.example.com"], ValidationMethod: "DNS", IdempotencyToken: certificateToken(["www.example.com"]) });
    expect(new Set(await acmRegions())).toEqual(new Set(["us-east-1"]));
    const record = validationRecordFor("www.example.com");
    expect(dns.find(zoneId, record.Name, "CNAME")).toMatchObject({ TTL: 300, ResourceRecords: [{ Value: record.Value }] });
    // The stack was deployed after the certificate was issued, with that certificate.
    const certificate = acm.certificates[0]!;
    expect(certificate.status).toBe("ISSUED");
    expect(sentDistribution().ViewerCertificate.AcmCertificateArn).toBe(certificate.arn);
    expect(ctx.ui.texts("progress-done")).toContain("Certificate for www.example.com issued");
    expect(dns.find(zoneId, "www.example.com", "A")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    expect(clock.sleeps.length).toBeGreaterThan(0);
  });

  it("does not wait on an e-mail-validated request for the same names: it requests a DNS-validated one", async () => {
    await setDomain("www.example.com");
    const byEmail = acm.add({ names: ["www.example.com"], status: "PENDING_VALIDATION", method: "EMAIL" });
    acm.validateWhen((certificate) => (certificate !== byEmail && dns.find(zoneId, validationRecordFor("www.example.com").Name, "CNAME") ? "ISSUED" : undefined));
    const result = await run(context());
    expectDeployed(result);
    expect(acm.requests).toHaveLength(1);
    expect(result.domain?.certificateArn).not.toBe(byEmail.arn);
  });

  it("says what ACM's quota is when it refuses the request", async () => {
    await setDomain({ name: "example.com", aliases: Array.from({ length: 10 }, (_, index) => `s${index}.example.com`) });
    acm.mock.on(RequestCertificateCommand).rejects(Object.assign(new Error("Number of domain names exceeds the limit of 10."), { name: "LimitExceededException", $metadata: {} }));
    const error = await run(context()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "limit", message: "ACM refused a certificate for 11 names: Number of domain names exceeds the limit of 10." });
    expect((error as LampError).hint).toMatch(/10 names per certificate.*Service Quotas/);
    expect(cfn.created).toEqual([]);
  });

  it("reports a certificate ACM refuses (CAA) in one line with what to do, and deploys nothing", async () => {
    await setDomain("www.example.com");
    acm.validateWhen(() => "FAILED");
    acm.mock.on(DescribeCertificateCommand).callsFake(() => ({
      Certificate: { CertificateArn: acm.certificates[0]!.arn, Status: "FAILED", FailureReason: "CAA_ERROR", SubjectAlternativeNames: ["www.example.com"], DomainValidationOptions: [] },
    }));
    const error = await run(context()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LampError);
    expect((error as LampError).message).toBe("ACM could not issue the certificate for www.example.com: the domain's CAA records do not allow Amazon to issue it.");
    expect((error as LampError).hint).toMatch(/0 issue "amazon.com".*aws acm delete-certificate --certificate-arn arn:aws:acm:us-east-1:\S+ --region us-east-1.*lamp deploy/);
    expect(cfn.created).toEqual([]);
  });

  it("gives up waiting after the timeout with the record to check, and the next run waits for the same certificate", async () => {
    await setDomain("www.example.com");
    // The zone is in Route 53, but ACM never sees the record (say, the domain's registrar points elsewhere).
    const waiting = context();
    const error = await run(waiting).catch((caught: unknown) => caught);
    expect((error as LampError).message).toBe("The certificate for www.example.com is still PENDING_VALIDATION after 30m00s: ACM has not seen its DNS records yet.");
    expect((error as LampError).hint).toContain(`dig +short CNAME ${validationRecordFor("www.example.com").Name}`);
    expect(cfn.created).toEqual([]);
    // Without a terminal, a line every five minutes shows it is still waiting.
    expect(waiting.ui.texts("info").filter((line) => line.startsWith("  still PENDING_VALIDATION after "))).toHaveLength(6);

    acm.validateWhen(() => "ISSUED");
    const result = await run(context());
    expectDeployed(result);
    expect(acm.requests).toHaveLength(1);
    expect(acm.certificates).toHaveLength(1);
  });
});

describe("lamp deploy with a domain whose zone is elsewhere", () => {
  beforeEach(() => {
    dns.mock.restore();
    dns = fakeRoute53([{ id: "ZOTHER", name: "other.org" }]);
  });

  it("prints the validation records to add, waits with a live status, and stops cleanly on Ctrl-C; lamp deploy again resumes", async () => {
    await setDomain({ name: "example.com", aliases: ["www.example.com"] });
    const first = context();
    let polls = 0;
    acm.validateWhen(() => {
      polls += 1;
      if (polls === 4) first.controller.abort(new Error("Interrupted."));
      return undefined;
    });
    const error = await run(first).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LampError);
    expect((error as LampError).exitCode).toBe(130);
    expect((error as LampError).message).toMatch(/^Stopped waiting for the certificate for example\.com; nothing was deployed/);
    expect((error as LampError).hint).toMatch(/Run `lamp deploy` again to resume/);

    const text = first.ui.texts();
    const apex = validationRecordFor("example.com");
    const www = validationRecordFor("www.example.com");
    expect(text).toContain("No Route 53 zone holds example.com, www.example.com. Add these DNS records at your DNS provider so ACM can validate the certificate:");
    const width = www.Name.length;
    expect(text).toContain(`  ${apex.Name.padEnd(width)}  300  IN  CNAME  ${apex.Value}`);
    expect(text).toContain(`  ${www.Name}  300  IN  CNAME  ${www.Value}`);
    expect(first.ui.texts("progress-update").at(-1)).toMatch(/^Waiting for ACM to validate the certificate for example\.com: PENDING_VALIDATION for \d+s$/);
    expect(cfn.created).toEqual([]);
    expect(dns.changes).toEqual([]);

    // The user adds the records; lamp deploy again finds the pending certificate and goes on
    // waiting until ACM has seen them.
    let later = 0;
    acm.validateWhen(() => (++later >= 3 ? "ISSUED" : undefined));
    const second = context();
    const result = await run(second);
    expectDeployed(result);
    expect(acm.requests).toHaveLength(1);
    expect(second.ui.texts().join("\n")).toMatch(/is still waiting for validation/);
    expect(result.outputs.siteUrl).toBe("https://example.com");
    // Nothing to write in Route 53: the records that point the names at CloudFront are printed.
    expect(dns.changes).toEqual([]);
    const lines = second.ui.texts();
    expect(lines).toContain("No Route 53 zone holds example.com, www.example.com: point them at CloudFront at your DNS provider:");
    expect(lines).toContain(`  example.com.      300  IN  ALIAS  ${fakeDistributionDomainName}.   ; an apex takes no CNAME: your provider's ALIAS or ANAME record`);
    expect(lines).toContain(`  www.example.com.  300  IN  CNAME  ${fakeDistributionDomainName}.`);
  });

  it("Ctrl-C at the command line exits 130 with the way to resume, and nothing deployed", async () => {
    await setDomain("www.example.com");
    acm.add({ names: ["www.example.com"], status: "PENDING_VALIDATION" });
    // The first poll of the wait: the user presses Ctrl-C during the sleep that follows.
    acm.validateWhen((certificate) => {
      if (certificate.describes === 2) process.emit("SIGINT", "SIGINT");
      return undefined;
    });
    const result = await runCliInProcess(["deploy", "--no-assets", "--endpoint-url", s3.server.endpointUrl], { cwd: project.root, env: { ...process.env, NO_COLOR: "1", CI: "1" } });
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/✖ Stopped waiting for the certificate for www\.example\.com; nothing was deployed, and the certificate request stays in ACM\.\n {2}Run `lamp deploy` again to resume/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(cfn.created).toEqual([]);
  });
});

describe("removing the domain", () => {
  it("detaches it: no aliases or certificate on the distribution, lamp's alias records removed, the certificate left in ACM", async () => {
    await setDomain("www.example.com");
    const certificate = acm.add({ names: ["www.example.com"], status: "ISSUED" });
    // A record lamp must not touch: the apex points at another server.
    dns.put(zoneId, { Name: "example.com", Type: "A", TTL: 300, ResourceRecords: [{ Value: "203.0.113.10" }] });
    expectDeployed(await run(context()));
    expect(dns.find(zoneId, "www.example.com", "A")).toBeDefined();

    await setDomain(undefined);
    const ctx = context();
    const result = await run(ctx);
    expectDeployed(result);
    const distribution = sentDistribution();
    expect(distribution.Aliases).toBeUndefined();
    expect(distribution.ViewerCertificate).toBeUndefined();
    expect(result.outputs.siteUrl).toBe(`https://${fakeDistributionDomainName}`);
    expect(dns.find(zoneId, "www.example.com", "A")).toBeUndefined();
    expect(dns.find(zoneId, "www.example.com", "AAAA")).toBeUndefined();
    expect(dns.find(zoneId, "example.com", "A")?.ResourceRecords).toEqual([{ Value: "203.0.113.10" }]);
    const text = ctx.ui.texts().join("\n");
    expect(text).toContain("The site no longer answers for www.example.com; removed their alias records from Route 53 (www.example.com).");
    expect(text).toContain(`The certificate ${certificate.arn} stays in ACM (us-east-1)`);
    expect(acm.certificates).toHaveLength(1);
  });
});

describe("changing the domain", () => {
  it("a name dropped from lamp.json loses lamp's alias records; the certificate no longer used is kept and named", async () => {
    await setDomain({ name: "www.example.com", aliases: ["old.example.com"] });
    const first = acm.add({ names: ["www.example.com", "old.example.com"], status: "ISSUED" });
    expectDeployed(await run(context()));
    expect(dns.find(zoneId, "old.example.com", "AAAA")).toBeDefined();

    await setDomain("www.example.com");
    const second = acm.add({ names: ["www.example.com"], status: "ISSUED", notAfter: new Date("2027-06-01") });
    acm.certificates.splice(acm.certificates.indexOf(first), 1); // (say it was deleted: only the new one covers www now)
    const ctx = context();
    const result = await run(ctx);
    expectDeployed(result);
    expect(sentDistribution().Aliases).toEqual(["www.example.com"]);
    expect(sentDistribution().ViewerCertificate.AcmCertificateArn).toBe(second.arn);
    expect(dns.find(zoneId, "old.example.com", "A")).toBeUndefined();
    expect(dns.find(zoneId, "old.example.com", "AAAA")).toBeUndefined();
    expect(dns.find(zoneId, "www.example.com", "A")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    const text = ctx.ui.texts().join("\n");
    expect(text).toContain("The site no longer answers for old.example.com; removed their alias records from Route 53 (old.example.com).");
    expect(text).toContain(`The certificate ${first.arn} stays in ACM (us-east-1)`);
  });

  it("without permission to list Route 53 zones, prints the records instead of failing", async () => {
    await setDomain("www.example.com");
    acm.add({ names: ["www.example.com"], status: "ISSUED" });
    dns.mock.on(ListHostedZonesCommand).rejects(Object.assign(new Error("User is not authorized to perform: route53:ListHostedZones"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
    const ctx = context();
    expectDeployed(await run(ctx));
    expect(ctx.ui.texts("warn")).toContain("Not allowed to list Route 53 hosted zones (route53:ListHostedZones): lamp prints the DNS records to add instead of writing them.");
    expect(ctx.ui.texts()).toContain(`  www.example.com.  300  IN  CNAME  ${fakeDistributionDomainName}.`);
    expect(dns.changes).toEqual([]);
  });
});

describe("DNS records lamp does not overwrite", () => {
  it("a CNAME at a name stops before any record is written, with what to do; an A record elsewhere is replaced and its old value shown", async () => {
    await setDomain({ name: "example.com", aliases: ["www.example.com"] });
    acm.add({ names: ["example.com", "www.example.com"], status: "ISSUED" });
    dns.put(zoneId, { Name: "example.com", Type: "A", TTL: 300, ResourceRecords: [{ Value: "203.0.113.10" }] });
    dns.put(zoneId, { Name: "www.example.com", Type: "CNAME", TTL: 300, ResourceRecords: [{ Value: "old-host.example.net" }] });
    const ctx = context();
    const error = await run(ctx).catch((caught: unknown) => caught);
    expect((error as LampError).message).toBe("The site is deployed, but www.example.com has a CNAME record (to old-host.example.net) in Route 53, so lamp did not point it at CloudFront.");
    expect((error as LampError).hint).toBe("Delete that CNAME in the example.com zone, then run `lamp deploy` again.");
    // Nothing written: the apex still points at its server.
    expect(dns.find(zoneId, "example.com", "A")?.ResourceRecords).toEqual([{ Value: "203.0.113.10" }]);
    expect(dns.find(zoneId, "example.com", "A")?.AliasTarget).toBeUndefined();

    // The user removes the CNAME: the next deploy points both names here and shows what the apex was.
    const cname = dns.find(zoneId, "www.example.com", "CNAME")!;
    dns.all(zoneId).splice(dns.all(zoneId).indexOf(cname), 1);
    const again = context();
    await run(again);
    expect(dns.find(zoneId, "example.com", "A")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    expect(dns.find(zoneId, "www.example.com", "AAAA")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    expect(again.ui.texts("warn")).toContain("example.com was A 203.0.113.10 before.");
  });
});

describe("A/AAAA aliases to another CloudFront distribution (another site answers at the name today)", () => {
  const other = "d999999otherdist.cloudfront.net";
  const putOther = () => {
    for (const type of ["A", "AAAA"] as const) dns.put(zoneId, { Name: "www.example.com", Type: type, AliasTarget: aliasTo(other) });
  };
  const contextWith = (options: { yes: boolean; interactive?: boolean; answer?: boolean }) =>
    createTestContext({
      cwd: project.root,
      aws: { endpointUrl: s3.server.endpointUrl, region: "eu-west-1" },
      clock,
      yes: options.yes,
      interactive: options.interactive,
      prompt: options.answer === undefined ? undefined : { text: async () => "", select: async () => "", confirm: async () => options.answer! } as never,
    });

  it("without a terminal and without --yes: not replaced; says so, naming the other distribution and the flag", async () => {
    await setDomain("www.example.com");
    acm.add({ names: ["www.example.com"], status: "ISSUED" });
    putOther();
    const error = (await run(contextWith({ yes: false })).catch((caught: unknown) => caught)) as LampError;
    expect(error.message).toBe(`The site is deployed, but www.example.com (an alias to ${other}) already points at another CloudFront distribution, so lamp did not replace it.`);
    expect(error.hint).toContain("lamp deploy --yes");
    expect(dns.find(zoneId, "www.example.com", "A")?.AliasTarget).toEqual(aliasTo(other));
    expect(dns.changes.filter((entry) => entry.change.ResourceRecordSet?.Type !== "CNAME")).toEqual([]);
  });

  it("at a terminal: asked; no keeps the records, yes points them here", async () => {
    await setDomain("www.example.com");
    acm.add({ names: ["www.example.com"], status: "ISSUED" });
    putOther();
    await expect(run(contextWith({ yes: false, interactive: true, answer: false }))).rejects.toThrow(/did not replace it/);
    expect(dns.find(zoneId, "www.example.com", "AAAA")?.AliasTarget).toEqual(aliasTo(other));
    const ctx = contextWith({ yes: false, interactive: true, answer: true });
    await run(ctx);
    expect(dns.find(zoneId, "www.example.com", "A")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
    expect(ctx.ui.texts("warn")).toContain(`www.example.com was A an alias to ${other} before.`);
  });

  it("with --yes: replaced, and what it was is shown", async () => {
    await setDomain("www.example.com");
    acm.add({ names: ["www.example.com"], status: "ISSUED" });
    putOther();
    const ctx = contextWith({ yes: true });
    await run(ctx);
    expect(dns.find(zoneId, "www.example.com", "AAAA")?.AliasTarget).toEqual(aliasTo(fakeDistributionDomainName));
  });
});

describe("lamp info and lamp destroy with a domain", () => {
  it("lamp info shows the names and the certificate's status; lamp destroy removes lamp's alias records and keeps the certificate, saying so", async () => {
    await setDomain({ name: "www.example.com", aliases: ["example.com"] });
    const certificate = acm.add({ names: ["www.example.com", "example.com"], status: "ISSUED", notAfter: new Date("2027-03-01T00:00:00Z") });
    expectDeployed(await run(context()));

    const { stackInfo, formatStackInfo } = await import("../../src/deploy/info.js");
    const info = await stackInfo(project.root, context());
    const lines = formatStackInfo(info, clock.now());
    expect(lines).toContain("URL        https://www.example.com");
    expect(lines).toContain("Domain     www.example.com, example.com");
    expect(lines).toContain(`Certificate ${certificate.arn} (ISSUED, valid until 2027-03-01)`);

    const { destroy } = await import("../../src/deploy/destroy.js");
    // The local S3 server lists no object versions: the bucket's emptying is test/deploy/destroy.test.ts's part.
    const validation = validationRecordFor("www.example.com");
    dns.put(zoneId, { Name: validation.Name, Type: "CNAME", TTL: 300, ResourceRecords: [{ Value: validation.Value }] });
    const stack = cfn.find("shop")!;
    stack.outputs = stack.outputs.filter((output) => output.OutputKey !== "AssetsBucketName");
    // At a terminal, the warning before the confirmation says what happens to the domain.
    const ctx = createTestContext({
      cwd: project.root,
      aws: { endpointUrl: s3.server.endpointUrl, region: "eu-west-1" },
      clock,
      yes: false,
      interactive: true,
      prompt: { text: async () => "shop", select: async () => { throw new Error("no select"); }, confirm: async () => false, password: async () => { throw new Error("no password"); } },
    });
    const result = await destroy({ root: project.root, all: false }, ctx);
    expect(ctx.ui.texts("warn")[0]).toMatch(/www\.example\.com, example\.com stop answering \(lamp's Route 53 alias records go; the certificate stays\)\.$/);
    expect(result.status).toBe("deleted");
    expect(result.domain).toEqual({ names: ["www.example.com", "example.com"], certificateArn: certificate.arn, removedRecords: ["www.example.com", "example.com"] });
    expect(dns.all(zoneId).filter((set) => set.Type === "A" || set.Type === "AAAA")).toEqual([]);
    // The validation records stay with the certificate: ACM renews it through them.
    expect(dns.find(zoneId, validation.Name, "CNAME")?.ResourceRecords).toEqual([{ Value: validation.Value }]);
    expect(ctx.ui.texts().join("\n")).toContain(`The certificate ${certificate.arn} stays in ACM (us-east-1); delete it there if nothing else uses it.`);
    expect(acm.certificates).toHaveLength(1);
  });
});
