import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/run-lamp.js";

/**
 * The module graph of src/, read from the sources (static imports, `import type`, re-exports and
 * dynamic `import()` alike): a type-only import still ties two modules' releases together.
 */
const srcRoot = path.join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(srcRoot)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const local = info.importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => path.relative(srcRoot, path.resolve(path.dirname(file), name.replace(/\.js$/, ".ts"))));
    graph.set(path.relative(srcRoot, file), local);
  }
  return graph;
}

/** Every module reachable from `start`, with the path that reaches it. */
function reachable(graph: Map<string, string[]>, start: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const next of graph.get(current) ?? []) {
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(current)!, next]);
      queue.push(next);
    }
  }
  return seen;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  for (const start of graph.keys()) {
    for (const next of graph.get(start) ?? []) {
      const back = reachable(graph, next).get(start);
      // Report each cycle once, from its alphabetically first module.
      if (back && [...back].sort()[0] === start) found.push([start, ...back]);
    }
  }
  return found;
}

describe("the module graph of src/", () => {
  const graph = importGraph();

  it("is read from the sources (the check itself works)", () => {
    expect(graph.get("cli.ts")).toContain("commands/init.ts");
    expect(graph.get("dev/lambda-runtime.ts")).toContain("project/template.ts");
  });

  it("lamp dev depends on nothing of lamp deploy: what both need lives in src/project", () => {
    const offenders = [...graph.keys()]
      .filter((file) => file.startsWith("dev/") || file === "commands/dev.ts")
      .flatMap((file) => [...reachable(graph, file).entries()].filter(([module]) => module.startsWith("deploy/")).map(([, via]) => via.join(" -> ")));
    expect(offenders).toEqual([]);
  });

  it("has no import cycle (cli.ts, the command modules and src/assets included)", () => {
    expect(cycles(graph).map((cycle) => cycle.join(" -> "))).toEqual([]);
  });
});
