import { describe, expect, it } from "vitest";
import { certificateToken, covers, coversAll, siteDomain } from "../../src/domain/names.js";

describe("certificate names", () => {
  it("a wildcard covers exactly one label: www.example.com, not example.com nor a.b.example.com", () => {
    expect(covers("*.example.com", "www.example.com")).toBe(true);
    expect(covers("*.example.com", "example.com")).toBe(false);
    expect(covers("*.example.com", "a.b.example.com")).toBe(false);
    expect(covers("*.example.com", "www.example.org")).toBe(false);
    expect(covers("*.example.com", "*.example.com")).toBe(true);
    expect(covers("www.example.com", "*.example.com")).toBe(false);
    expect(covers("WWW.Example.com", "www.example.com")).toBe(true);
  });

  it("a certificate serves the site only when it covers every name", () => {
    expect(coversAll(["example.com", "*.example.com"], ["example.com", "www.example.com"])).toBe(true);
    expect(coversAll(["*.example.com"], ["example.com", "www.example.com"])).toBe(false);
  });

  it("the request token depends on the names, not their order, and fits ACM's 32 word characters", () => {
    const token = certificateToken(["www.example.com", "example.com"]);
    expect(token).toMatch(/^\w{32}$/);
    expect(certificateToken(["example.com", "www.example.com"])).toBe(token);
    expect(certificateToken(["example.com"])).not.toBe(token);
  });
});

describe("lamp.json's domain", () => {
  it("is put in DNS's canonical form: lowercase, no root dot, internationalized names as xn--", () => {
    expect(siteDomain({ name: "Example.COM.", aliases: ["WWW.example.com"] })).toEqual({ main: "example.com", aliases: ["www.example.com"], names: ["example.com", "www.example.com"] });
    expect(siteDomain("bücher.example")?.main).toBe("xn--bcher-kva.example");
    expect(siteDomain(undefined)).toBeUndefined();
  });
});
