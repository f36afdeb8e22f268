import { describe, expect, it } from "vitest";
import { fitName, stackNameProblem } from "../../src/project/names.js";

describe("fitName", () => {
  it("keeps a name that fits, to the character", () => {
    expect(fitName("shop-web", 64)).toBe("shop-web");
    expect(fitName("a".repeat(64), 64)).toBe("a".repeat(64));
  });

  it("shortens a longer name to exactly the limit: a readable prefix and a hash", () => {
    const stack = `shop-${"x".repeat(123)}`;
    expect(stackNameProblem(stack)).toBeUndefined(); // the longest stack name lamp accepts
    const fitted = fitName(`${stack}-production`, 64);
    expect(fitted).toHaveLength(64);
    expect(fitted).toMatch(/^shop-x+-[0-9a-f]{8}$/);
  });

  it("is deterministic, and names that differ only past the cut stay different", () => {
    const base = "y".repeat(100);
    expect(fitName(`${base}-staging`, 64)).toBe(fitName(`${base}-staging`, 64));
    expect(fitName(`${base}-staging`, 64)).not.toBe(fitName(`${base}-prod`, 64));
  });

  it("never leaves a double hyphen where it cut", () => {
    const fitted = fitName(`${"a".repeat(54)}-${"b".repeat(20)}`, 64);
    expect(fitted).not.toContain("--");
    expect(fitted.length).toBeLessThanOrEqual(64);
  });

  it("refuses a limit too small to hold a hash", () => {
    expect(() => fitName("abc", 5)).toThrow(RangeError);
  });
});
