import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/run-lamp.js";

/**
 * Issue 17 item 17: Node 20, 22 and 24 are supported, and said so in one voice: package.json's
 * engines, the README, the language level the code is compiled for, and the code itself.
 */
const supported = [20, 22, 24];

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(repoRoot, dir), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && /\.(ts|mjs|js)$/.test(entry.name)).map((entry) => path.join(entry.parentPath, entry.name));
}

describe("supported Node versions", () => {
  it("package.json's engines names 20 (from 20.12), 22 and 24, and nothing else", async () => {
    const { engines } = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } };
    expect(engines.node).toBe("^20.12.0 || ^22.0.0 || ^24.0.0");
  });

  it("the README says the same", async () => {
    const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
    expect(readme).toContain("**Node.js** 20 (from 20.12), 22 or 24 (`engines` in package.json)");
  });

  it("this Node is one of them", () => {
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
    expect(supported).toContain(major);
    if (major === 20) expect(minor).toBeGreaterThanOrEqual(12);
  });

  it("the code is compiled for a language level Node 20 runs, and uses no API newer than Node 20.12", async () => {
    const tsconfig = JSON.parse(await readFile(path.join(repoRoot, "tsconfig.json"), "utf8")) as { compilerOptions: { target: string; lib: string[] } };
    expect(["ES2022", "ES2023"]).toContain(tsconfig.compilerOptions.target);
    for (const lib of tsconfig.compilerOptions.lib) expect(lib.replace(/\..*/, "")).toMatch(/^ES20(1\d|2[0-3])$/i);
    // APIs of Node 22 or later (and ES2024+ built-ins) that Node 20 lacks.
    const newer = /\b(?:Promise\.withResolvers|Array\.fromAsync|Object\.groupBy|Map\.groupBy|process\.getBuiltinModule|Iterator\.from|RegExp\.escape|URL\.parse|Error\.isError)\b|\.(?:union|intersection|symmetricDifference|isSubsetOf)\(|\bfs\.glob\b|from "node:sqlite"|\bstyleText\b/;
    const offenders: string[] = [];
    for (const file of [...(await sources("src")), ...(await sources("bin")), ...(await sources("scripts"))]) {
      const text = await readFile(file, "utf8");
      const match = newer.exec(text);
      if (match) offenders.push(`${path.relative(repoRoot, file)}: ${match[0]}`);
    }
    expect(offenders).toEqual([]);
  });
});
