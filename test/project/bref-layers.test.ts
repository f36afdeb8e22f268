import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadLayerTable, resolveLayer } from "../../src/project/bref-layers.js";

describe("Bref layers", () => {
  it("resolves the bundled Bref 3 table per PHP version, architecture and region", async () => {
    const table = await loadLayerTable();
    expect(table.source).toMatch(/Bref 3\.0\.9/);
    expect(resolveLayer(table, { php: "8.5", arch: "arm64", region: "eu-north-1" })).toBe("arn:aws:lambda:eu-north-1:873528684822:layer:arm-php-85:18");
    expect(resolveLayer(table, { php: "8.2", arch: "x86_64", region: "us-east-1" })).toBe("arn:aws:lambda:us-east-1:873528684822:layer:php-82:23");
  });

  it("prefers the project's installed vendor/bref/bref/layers.json", async () => {
    const project = await mkdtemp(path.join(tmpdir(), "lamp-layers-"));
    try {
      await mkdir(path.join(project, "vendor/bref/bref"), { recursive: true });
      await writeFile(path.join(project, "vendor/bref/bref/layers.json"), JSON.stringify({ "arm-php-84": { "eu-west-1": 99 } }));
      const table = await loadLayerTable(project);
      expect(resolveLayer(table, { php: "8.4", arch: "arm64", region: "eu-west-1" })).toMatch(/:arm-php-84:99$/);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it("lists the valid values when the region or version is unknown", async () => {
    const table = await loadLayerTable();
    expect(() => resolveLayer(table, { php: "8.4", arch: "arm64", region: "xx-nowhere-1" })).toThrow(/no arm-php-84 layer in region "xx-nowhere-1"/);
    expect(() => resolveLayer(table, { php: "8.4", arch: "arm64", region: "xx-nowhere-1" })).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/af-south-1.*us-west-2/) }),
    );
    expect(() => resolveLayer(table, { php: "7.4", arch: "arm64", region: "eu-west-1" })).toThrow(/Unknown PHP version "7\.4"/);
  });
});
