import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig as validateAtRunTime } from "../../src/project/config.js";
import { repoRoot } from "../helpers/run-lamp.js";

/**
 * `npm run build` compiles schema/lamp.schema.json into dist/project/lamp-schema-validator.cjs, so
 * the CLI neither loads Ajv nor compiles the schema when it starts. The shipped CLI (dist/) must
 * accept, reject and fill defaults exactly as the run-time compile (used from sources) does.
 */
const built = path.join(repoRoot, "dist/project/lamp-schema-validator.cjs");
const base = { stackName: "shop", region: "eu-west-1" };
const inputs: unknown[] = [
  base,
  { ...base, $schema: "https://unpkg.com/serverless-lamp/schema/lamp.schema.json", handler: "web/index.php", router: true, documentRoot: "web" },
  { ...base, environment: { APP_ENV: "prod", TZ: "Europe/Paris" }, package: { exclude: ["tests/**"] } },
  { ...base, assets: { dir: "static", exclude: ["*.map"], cacheControl: { "fonts/**": "public, max-age=31536000, immutable" }, invalidationThreshold: 200 } },
  { ...base, domain: "www.example.com" },
  { ...base, domain: { name: "example.com", aliases: ["www.example.com"] } },
  { ...base, database: {} },
  { ...base, database: { engine: "mysql", name: "shop_db", minCapacity: 0.5, maxCapacity: 4, autoPause: 600, network: "private" } },
  // Lengths counted in code points (Ajv's ucs2length), not UTF-16 units.
  { ...base, assets: { cacheControl: { "*.css": "😀" } } },
  { ...base, assets: { cacheControl: { "*.css": "" } } },
  { region: "eu-west-1" },
  { ...base, stackName: "1shop" },
  { ...base, region: "Europe" },
  { ...base, environment: { APP_ENV: 1 } },
  { ...base, assets: { invalidationThreshold: 0 } },
  { ...base, assets: { exclude: "*.map" } },
  { ...base, stack: "typo" },
  { ...base, documentRoot: "../www" },
  { ...base, router: "yes" },
  { ...base, domain: 42 },
  { ...base, domain: { name: "example.com", alias: ["www.example.com"] } },
  { ...base, domain: { aliases: ["www.example.com"] } },
  { ...base, database: { engine: "postgres" } },
  { ...base, database: { name: "my-shop" } },
  { ...base, database: { minCapacity: 0.3 } },
  { ...base, database: { autoPause: 60 } },
  { ...base, database: { network: "vpc" } },
  { ...base, handler: "index.html" },
  [],
  "shop",
  null,
];

async function outcome(validate: (data: unknown) => Promise<unknown>, data: unknown): Promise<unknown> {
  try {
    return { config: await validate(data) };
  } catch (error) {
    const { code, message, hint } = error as { code?: string; message?: string; hint?: string };
    return { code, message, hint };
  }
}

describe("the lamp.json validator compiled at build time", () => {
  it("is built into dist/ by npm run build", () => {
    expect(existsSync(built), "run `npm run build`").toBe(true);
  });

  it("accepts, rejects (with the same message) and fills defaults exactly as the schema compiled at run time", async () => {
    const shipped = (await import(path.join(repoRoot, "dist/project/config.js"))) as { validateConfig: (data: unknown) => Promise<unknown> };
    for (const data of inputs) {
      expect(await outcome(shipped.validateConfig, data), JSON.stringify(data)).toEqual(await outcome(validateAtRunTime, data));
    }
    // Both kinds of outcome are in the set: the comparison would catch a validator that accepts everything.
    const outcomes = await Promise.all(inputs.map((data) => outcome(shipped.validateConfig, data)));
    expect(outcomes.filter((entry) => "config" in (entry as object)).length).toBeGreaterThan(5);
    expect(outcomes.filter((entry) => "code" in (entry as object)).length).toBeGreaterThan(15);
  });

  it("is what the generator makes from the schema now (the same bytes each time)", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "lamp-schema-"));
    try {
      for (const name of ["a.cjs", "b.cjs"]) {
        const run = spawnSync(process.execPath, [path.join(repoRoot, "scripts/compile-lamp-schema.mjs"), path.join(work, name)], { encoding: "utf8" });
        expect(run.status, run.stderr).toBe(0);
      }
      const generated = readFileSync(path.join(work, "a.cjs"), "utf8");
      expect(readFileSync(path.join(work, "b.cjs"), "utf8")).toBe(generated);
      expect(readFileSync(built, "utf8")).toBe(generated);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("spares the CLI loading Ajv: validating lamp.json from dist/ loads no Ajv compiler", () => {
    const script = `
      import { createRequire } from "node:module";
      const { validateConfig } = await import(${JSON.stringify(path.join(repoRoot, "dist/project/config.js"))});
      await validateConfig({ stackName: "shop", region: "eu-west-1" });
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ ajv: loaded.filter((file) => file.includes("/node_modules/ajv/")).map((file) => file.split("/node_modules/")[1]) }));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: repoRoot });
    expect(run.status, run.stderr).toBe(0);
    // Only the small run-time helper the generated code calls for string lengths.
    expect(JSON.parse(run.stdout)).toEqual({ ajv: ["ajv/dist/runtime/ucs2length.js"] });
  });
});
