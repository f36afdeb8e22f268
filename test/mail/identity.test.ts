import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deploy } from "../../src/deploy/deploy.js";
import { destroy } from "../../src/deploy/destroy.js";
import { formatStackInfo, stackInfo } from "../../src/deploy/info.js";
import { settleMailIdentity } from "../../src/mail/identity.js";
import { createTestContext, type FakeClock, type TestContext } from "../helpers/context.js";
import { fakeCloudFormation, siteOutputs } from "../deploy/fake-cloudformation.js";
import { makeProject, type TestProject } from "../deploy/project.js";
import { fakeRoute53 } from "../domain/fakes.js";
import { fakeSes } from "./fake-ses.js";
import { deployStandIns } from "../deploy/stand-ins.js";

const artifactsBucket = "lamp-artifacts-test";
const aws = deployStandIns({ artifactsBucket, buckets: ["shop-assets"], bootstrap: true });
const { s3 } = aws;
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let dns: ReturnType<typeof fakeRoute53>;
let ses: ReturnType<typeof fakeSes>;
let project: TestProject;

const zoneId = "Z0EXAMPLE";

beforeEach(async () => {
  ({ clock, cfn } = aws);
  dns?.mock.restore();
  // The public example.com zone, its private twin and a delegated sub-zone: the DKIM records go to the longest public match.
  dns = fakeRoute53([
    { id: "ZPRIVATE", name: "example.com", private: true },
    { id: zoneId, name: "example.com" },
    { id: "ZSHOP", name: "shop.example.com" },
  ]);
  ses?.mock.restore();
  ses = fakeSes();
  project = await makeProject();
});
afterEach(async () => {
  await project.remove();
});

async function setMail(from: string | undefined): Promise<void> {
  const file = path.join(project.root, "lamp.json");
  const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  if (from === undefined) delete config.mail;
  else config.mail = { from };
  await writeFile(file, JSON.stringify(config, null, 2));
}

const context = (): TestContext => createTestContext({ cwd: project.root, aws: { endpointUrl: s3.server.endpointUrl, region: "eu-west-1" }, clock });
const run = (ctx: TestContext) => deploy({ root: project.root, assets: false, force: false }, ctx);
const dkim = (domain: string) => ses.identities.find((identity) => identity.name === domain)!.tokens.map((token) => ({ name: `${token}._domainkey.${domain}`, target: `${token}.dkim.amazonses.com` }));

describe("lamp deploy with mail.from", () => {
  it("creates the SES domain identity once in the stack's region, writes its three DKIM CNAMEs into the zone, and a second deploy changes nothing", async () => {
    await setMail("site@example.com");
    const ctx = context();
    const result = await run(ctx);

    expect(result.status).toBe("deployed");
    expect(ses.created).toEqual([{ name: "example.com", region: "eu-west-1" }]);
    const records = dkim("example.com");
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(dns.find(zoneId, record.name, "CNAME")).toMatchObject({ TTL: 300, ResourceRecords: [{ Value: record.target }] });
    }
    expect(dns.all("ZPRIVATE")).toEqual([]);
    expect(dns.all("ZSHOP")).toEqual([]);
    expect(result.status !== "failed" && result.mail).toMatchObject({ from: "site@example.com", domain: "example.com", region: "eu-west-1", identity: "created", status: "pending", zone: "example.com", sandbox: true });
    const text = ctx.ui.texts().join("\n");
    expect(text).toMatch(/SES identity example\.com is pending verification.*mail is not delivered until it is verified/);
    expect(text).toContain("SES sandbox: the account sends only to verified recipients until production access is requested: https://eu-west-1.console.aws.amazon.com/ses/home?region=eu-west-1#/account");

    // SES has seen the records meanwhile; the next deploy reuses the identity and leaves the zone alone.
    ses.identities[0]!.status = "SUCCESS";
    const changes = dns.changes.length;
    const again = context();
    const second = await run(again);
    expect(second.status).toBe("no-changes");
    expect(ses.created).toHaveLength(1);
    expect(dns.changes.length).toBe(changes);
    expect(second.status !== "failed" && second.mail).toMatchObject({ identity: "reused", status: "verified" });
    expect(second.status !== "failed" && second.mail?.dkim.map((record) => record.state)).toEqual(["current", "current", "current"]);
    expect(again.ui.texts().join("\n")).toContain("Mail from site@example.com: SES identity example.com is verified");

    // lamp info says the same.
    const info = await stackInfo(project.root, context());
    expect(info.exists && info.mail).toEqual({ from: "site@example.com", domain: "example.com", status: "verified" });
    expect(formatStackInfo(info, clock.now())).toContain("Mail       site@example.com (SES identity example.com: verified)");
  });

  it("reuses an identity that exists already (made by hand) and never creates or deletes one", async () => {
    await setMail("news@shop.example.com");
    ses.identities.push({ name: "shop.example.com", region: "eu-west-1", tokens: ["aaa", "bbb", "ccc"], status: "PENDING" });
    const result = await run(context());

    expect(ses.created).toEqual([]);
    expect(ses.identities).toHaveLength(1);
    // The delegated sub-zone holds the domain, not its parent.
    for (const token of ["aaa", "bbb", "ccc"]) expect(dns.find("ZSHOP", `${token}._domainkey.shop.example.com`, "CNAME")?.ResourceRecords).toEqual([{ Value: `${token}.dkim.amazonses.com` }]);
    expect(dns.all(zoneId)).toEqual([]);
    expect(result.status !== "failed" && result.mail).toMatchObject({ identity: "reused", status: "pending", zone: "shop.example.com" });
  });

  it("a domain no Route 53 zone holds: prints the three records in zone-file form, writes nothing", async () => {
    await setMail("site@elsewhere.org");
    const ctx = context();
    const result = await run(ctx);

    expect(dns.changes).toEqual([]);
    const records = dkim("elsewhere.org");
    const lines = ctx.ui.texts("info");
    expect(ctx.ui.texts("warn").join("\n")).toContain("No Route 53 zone holds elsewhere.org. Add these DNS records at your DNS provider so SES can verify it");
    for (const record of records) {
      expect(lines.some((line) => new RegExp(`^  ${record.name.replaceAll(".", "\\.")}\\.\\s+300  IN  CNAME  ${record.target.replaceAll(".", "\\.")}\\.$`).test(line))).toBe(true);
    }
    expect(result.status !== "failed" && result.mail?.dkim.map((record) => record.state)).toEqual(["manual", "manual", "manual"]);
    expect(result.status !== "failed" && result.mail?.zone).toBeUndefined();
  });

  it("without mail.from: no SES call at all, and no mail in the result or in lamp info", async () => {
    await setMail(undefined);
    const result = await run(context());
    expect(result.status).toBe("deployed");
    expect(ses.mock.calls()).toEqual([]);
    expect(result.status !== "failed" && result.mail).toBeUndefined();
    const info = await stackInfo(project.root, context());
    expect(info.exists && info.mail).toBeUndefined();
    expect(ses.mock.calls()).toEqual([]);
  });
});

describe("lamp destroy with mail.from", () => {
  it("keeps the SES identity and its DKIM records, and says so", async () => {
    await setMail("site@example.com");
    ses.identities.push({ name: "example.com", region: "eu-west-1", tokens: ["aaa", "bbb", "ccc"], status: "SUCCESS" });
    // A deployed stack (without an assets bucket to empty: s3rver has no object versions).
    cfn.addStack("shop", "UPDATE_COMPLETE", siteOutputs("shop").filter((output) => output.OutputKey !== "AssetsBucketName"));
    const ctx = context();
    const result = await destroy({ root: project.root, all: false }, ctx);

    expect(result.status).toBe("deleted");
    expect(ses.mock.calls()).toEqual([]);
    expect(ses.identities.map((identity) => identity.name)).toEqual(["example.com"]);
    expect(dns.changes).toEqual([]);
    expect(ctx.ui.texts("info").join("\n")).toContain("The SES identity example.com (lamp.json's mail.from) and its DKIM records stay");
  });
});

describe("settleMailIdentity", () => {
  it("an account with production access gets no sandbox line; a failed verification says mail is not delivered and how to check", async () => {
    ses.mock.restore();
    ses = fakeSes({ productionAccess: true });
    ses.identities.push({ name: "example.com", region: "us-west-2", tokens: ["t1", "t2", "t3"], status: "FAILED" });
    const ctx = createTestContext({ clock });
    const report = await settleMailIdentity(ctx, { mail: { from: "a@example.com" } }, "us-west-2", [{ id: zoneId, name: "example.com" }]);
    expect(report).toMatchObject({ status: "failed", sandbox: false, identity: "reused" });
    const text = ctx.ui.texts().join("\n");
    expect(text).not.toContain("SES sandbox");
    expect(text).toMatch(/SES stopped trying to verify example\.com.*mail is not delivered.*dig \+short CNAME t1\._domainkey\.example\.com/);
  });
});
