import { afterEach, describe, expect, it } from "vitest";
import { publicZones, upsertValidationRecords } from "../../src/domain/dns.js";
import { createTestContext } from "../helpers/context.js";
import { fakeRoute53 } from "./fakes.js";

/**
 * Two public Route 53 zones of one name (a zone made again, the old one kept): lamp used to take the
 * first, whose records nobody sees, and certificate validation then waited 30 minutes. Now it takes
 * the one the name is delegated to, or stops naming both.
 */
let dns: ReturnType<typeof fakeRoute53> | undefined;
afterEach(() => dns?.mock.restore());

const twins = () =>
  fakeRoute53([
    { id: "ZSTALE", name: "example.com", nameServers: ["ns-11.awsdns-01.com", "ns-12.awsdns-02.net"] },
    { id: "ZLIVE", name: "example.com", nameServers: ["ns-21.awsdns-03.com", "ns-22.awsdns-04.net"] },
    { id: "ZOTHER", name: "other.org" },
  ]);

describe("two public zones of the same name", () => {
  it("takes the one the name is delegated to (public NS records), says so, and writes records there", async () => {
    dns = twins();
    const ctx = createTestContext({ cwd: "/" });
    const zones = await publicZones(ctx, async (name) => (name === "example.com" ? ["NS-21.awsdns-03.com.", "ns-22.awsdns-04.net"] : []));
    expect(zones.map((zone) => zone.id).sort()).toEqual(["ZLIVE", "ZOTHER"]);
    expect(ctx.ui.texts()).toContain("Route 53 has 2 public zones named example.com: using ZLIVE, the one example.com is delegated to.");
    const record = { name: "_v.www.example.com.", type: "CNAME", value: "_t.acm-validations.aws.", names: ["www.example.com"] };
    await upsertValidationRecords(ctx, zones, [record]);
    expect(dns.changes.map((entry) => entry.zone)).toEqual(["ZLIVE"]);
  });

  it("stops, naming both, when the public DNS does not point at either (or cannot be asked)", async () => {
    dns = twins();
    for (const lookup of [async () => ["ns-1.elsewhere.example"], async (): Promise<string[]> => Promise.reject(new Error("queryNs ECONNREFUSED"))]) {
      const error = await publicZones(createTestContext({ cwd: "/" }), lookup).catch((caught: unknown) => caught as { message: string; hint: string });
      expect(error).toMatchObject({
        message: "Route 53 has 2 public zones named example.com (ZSTALE, ZLIVE), and lamp cannot tell which one example.com's registrar delegates to.",
        hint: expect.stringContaining("Delete the zone that is not in use"),
      });
    }
    expect(dns.changes).toEqual([]);
  });

  it("one zone per name asks the DNS nothing", async () => {
    dns = fakeRoute53([{ id: "Z1", name: "example.com" }]);
    const zones = await publicZones(createTestContext({ cwd: "/" }), async () => {
      throw new Error("not asked");
    });
    expect(zones).toEqual([{ id: "Z1", name: "example.com" }]);
  });
});
