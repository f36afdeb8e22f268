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

/**
 * The layers, bottom up: core/ (infrastructure: context, errors, ui, AWS clients, the process
 * supervisor) → project/ (what lamp knows of a project: lamp.json, template.yaml, stack outputs,
 * Bref's layer tables, the local PHP) → one folder per capability → commands/ → cli.ts.
 * A capability uses another only through the modules it declares public here.
 */
const publicModules: Record<string, readonly string[]> = {
  assets: ["project-sync.ts", "media.ts", "selection.ts"],
  console: ["local.ts", "local-schedule.ts", "remote.ts", "release.ts", "handler.ts", "apply-console.ts"],
  database: ["db.ts", "dev.ts", "remote.ts", "variables.ts", "ca-bundle.ts", "apply-database.ts"],
  deploy: ["deploy.ts", "destroy.ts", "info.ts", "package-project.ts"],
  dev: ["server.ts", "function-environment.ts", "lambda-php.ts", "lambda-runtime.ts", "local-aws.ts", "local-stack.ts", "php-extensions.ts"],
  domain: ["domain.ts", "certificate.ts", "names.ts", "apply-domain.ts", "dns.ts"],
  logs: ["logs.ts"],
  mail: ["files.ts", "apply-mail.ts", "identity.ts"],
  router: ["router.ts", "apply-router.ts"],
  scaffold: ["init.ts"],
  secrets: ["secret.ts", "local.ts", "names.ts", "store.ts", "warn.ts", "apply-secrets.ts"],
  wordpress: ["files.ts", "apply-wordpress.ts"],
};
const layers = new Set(["core", "project", "commands"]);

function folderOf(module: string): string {
  return module.includes("/") ? module.split("/")[0]! : module;
}

describe("the module graph of src/", () => {
  const graph = importGraph();

  it("is read from the sources (the check itself works)", () => {
    expect(graph.get("cli.ts")).toContain("commands/init.ts");
    expect(graph.get("dev/lambda-runtime.ts")).toContain("project/sam-template.ts");
  });

  it("lamp dev depends on nothing of lamp deploy: what both need lives in src/project", () => {
    const offenders = [...graph.keys()]
      .filter((file) => file.startsWith("dev/") || file === "commands/dev.ts")
      .flatMap((file) => [...reachable(graph, file).entries()].filter(([module]) => module.startsWith("deploy/")).map(([, via]) => via.join(" -> ")));
    expect(offenders).toEqual([]);
  });

  it("core/ is the bottom layer: it imports nothing of lamp's product", () => {
    const offenders = [...graph].flatMap(([file, imports]) => (folderOf(file) === "core" ? imports.filter((module) => folderOf(module) !== "core").map((module) => `${file} -> ${module}`) : []));
    expect(offenders).toEqual([]);
  });

  it("project/ stands on core/ alone: every capability may use it, it uses none", () => {
    const offenders = [...graph].flatMap(([file, imports]) =>
      folderOf(file) === "project" ? imports.filter((module) => !["core", "project"].includes(folderOf(module))).map((module) => `${file} -> ${module}`) : [],
    );
    expect(offenders).toEqual([]);
  });

  it("commands and capabilities use a capability only through the modules it declares public", () => {
    const offenders = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((module) => {
          const target = folderOf(module);
          if (target === folderOf(file) || layers.has(target) || module === "cli.ts") return false;
          return !(publicModules[target] ?? []).includes(module.slice(target.length + 1));
        })
        .map((module) => `${file} -> ${module}`),
    );
    expect(offenders).toEqual([]);
    // Every folder of src/ is a layer or a declared capability: a new one says what it offers.
    const folders = new Set([...graph.keys()].filter((file) => file.includes("/")).map(folderOf));
    expect([...folders].filter((folder) => !layers.has(folder) && !(folder in publicModules))).toEqual([]);
  });

  it("capabilities depend on one another in one direction only (no cycle between folders)", () => {
    const folders = new Map<string, string[]>();
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      if (layers.has(from) || from === file) continue;
      const targets = folders.get(from) ?? [];
      for (const module of imports) if (folderOf(module) !== from && !layers.has(folderOf(module)) && !targets.includes(folderOf(module))) targets.push(folderOf(module));
      folders.set(from, targets);
    }
    expect(cycles(folders).map((cycle) => cycle.join(" -> "))).toEqual([]);
  });

  it("has no import cycle (cli.ts, the command modules and src/assets included)", () => {
    expect(cycles(graph).map((cycle) => cycle.join(" -> "))).toEqual([]);
  });
});
