import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProject } from "../../src/project/config.js";
import { inheritedDomainProblem, mergePatch, resolveStage, stageEntryKey, stageNameProblem, stageStackName } from "../../src/project/stage.js";

describe("stage names", () => {
  it("takes lower-case letters, digits and hyphens, a letter first", () => {
    for (const good of ["staging", "pr-42", "a", "eu2"]) expect(stageNameProblem(good)).toBeUndefined();
    expect(stageNameProblem("Prod")).toMatch(/lower-case letter/);
    expect(stageNameProblem("42")).toMatch(/lower-case letter/);
    expect(stageNameProblem("pr_42")).toMatch(/contains "_"/);
    expect(stageNameProblem("pr-")).toMatch(/hyphen/);
  });

  it("--stage wins over LAMP_STAGE; a bad one is a usage error naming where it came from", () => {
    expect(resolveStage(undefined, {})).toBeUndefined();
    expect(resolveStage(undefined, { LAMP_STAGE: "staging" })).toBe("staging");
    expect(resolveStage("pr-1", { LAMP_STAGE: "staging" })).toBe("pr-1");
    expect(() => resolveStage("PR 1", {})).toThrow(/^--stage "PR 1" must start with a lower-case letter\.$/);
    expect(() => resolveStage(undefined, { LAMP_STAGE: "pr_1" })).toThrow(/^LAMP_STAGE "pr_1" contains "_"/);
  });
});

describe("the stage's stack name", () => {
  it("is <stackName>-<stage>, and the bare stack name without a stage", () => {
    expect(stageStackName("shop", "pr-42")).toBe("shop-pr-42");
    expect(stageStackName("shop", undefined)).toBe("shop");
  });

  it("is refused past CloudFormation's 128 characters, naming the limit and the longest stage that fits", () => {
    const base = "s".repeat(120);
    expect(stageStackName(base, "staging")).toHaveLength(128);
    expect(() => stageStackName(base, "staging2")).toThrow(/129 characters long .*CloudFormation's limit for a stack name is 128/);
    try {
      stageStackName(base, "staging2");
    } catch (error) {
      expect((error as { hint: string }).hint).toMatch(/at most 7 characters/);
    }
  });
});

describe("per-stage settings", () => {
  it("merge as JSON Merge Patch: objects key by key, null removes, arrays replace", () => {
    const top = { environment: { APP_ENV: "production", A: "1" }, domain: "shop.example.com", package: { exclude: ["x"] } };
    expect(mergePatch(top, { environment: { APP_ENV: "preview" }, domain: null, package: { exclude: ["y"] } })).toEqual({
      environment: { APP_ENV: "preview", A: "1" },
      package: { exclude: ["y"] },
    });
  });

  it("a stage's own entry wins over a pattern, a longer pattern over a shorter", () => {
    const stages = { "pr-*": {}, "pr-4*": {}, "pr-42": {}, staging: {} };
    expect(stageEntryKey(stages, "pr-42")).toBe("pr-42");
    expect(stageEntryKey(stages, "pr-43")).toBe("pr-4*");
    expect(stageEntryKey(stages, "pr-7")).toBe("pr-*");
    expect(stageEntryKey(stages, "qa")).toBeUndefined();
  });
});

describe("loadProject with a stage", () => {
  let root: string;
  const write = (data: unknown) => writeFile(path.join(root, "lamp.json"), JSON.stringify(data));
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lamp-stage-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const base = {
    stackName: "shop",
    region: "eu-west-1",
    environment: { APP_ENV: "production" },
    domain: "shop.example.com",
    database: { minCapacity: 0.5 },
    stages: { "pr-*": { environment: { APP_ENV: "preview" }, domain: null, database: { finalSnapshot: false } }, staging: { database: { maxCapacity: 4 } } },
  };

  it("gives the stage's stack and its settings merged over the top level; a stage without an entry gets the top level", async () => {
    await write(base);
    const preview = await loadProject(root, "pr-42");
    expect(preview.stage).toBe("pr-42");
    expect(preview.config.stackName).toBe("shop-pr-42");
    expect(preview.config.environment).toEqual({ APP_ENV: "preview" });
    expect(preview.config.domain).toBeUndefined();
    expect(preview.config.database).toMatchObject({ minCapacity: 0.5, finalSnapshot: false });

    const staging = await loadProject(root, "staging");
    expect(staging.config.database).toMatchObject({ minCapacity: 0.5, maxCapacity: 4 });
    expect(staging.config.database?.finalSnapshot).not.toBe(false);
    expect(staging.config.domain).toBe("shop.example.com");

    const other = await loadProject(root, "qa");
    expect(other.config.stackName).toBe("shop-qa");
    expect(other.config.environment).toEqual({ APP_ENV: "production" });

    const production = await loadProject(root);
    expect(production.config.stackName).toBe("shop");
    expect(production.stage).toBeUndefined();
  });

  it("a stage that would take production's domain without saying so is refused before a deploy, naming the fix", async () => {
    await write(base);
    // pr-* says "domain": null; staging and qa say nothing, so they would take shop.example.com.
    expect(inheritedDomainProblem(await loadProject(root, "pr-7"), undefined)).toBeUndefined();
    expect(inheritedDomainProblem(await loadProject(root), "shop.example.com")).toBeUndefined();
    const staging = await loadProject(root, "staging");
    expect(inheritedDomainProblem(staging, staging.config.domain)?.message).toBe(
      'Stage "staging" would take lamp.json\'s domain shop.example.com from the top level, which the stack without a stage serves: CloudFront gives a name to one distribution only.',
    );
    await write({ ...base, stages: { ...base.stages, staging: { domain: "staging.example.com" } } });
    expect(inheritedDomainProblem(await loadProject(root, "staging"), "staging.example.com")).toBeUndefined();
  });

  it("a bad value in a stage's entry is refused naming the entry; stackName cannot differ per stage", async () => {
    await write({ ...base, stages: { staging: { database: { maxCapacity: 1000 } } } });
    await expect(loadProject(root, "staging")).rejects.toThrow(/^lamp\.json stages\.staging: database\.maxCapacity must be <= 256\.$/);
    await write({ ...base, stages: { staging: { stackName: "other" } } });
    await expect(loadProject(root, "staging")).rejects.toThrow(/stages\.staging/);
    // Checked whatever the stage: a mistake in the previews' entry stops production's commands too.
    await write({ ...base, stages: { "pr-*": { enviroment: {} } } });
    await expect(loadProject(root)).rejects.toThrow(/^lamp\.json stages\.pr-\*: \(root\) has an unknown property "enviroment" \(did you mean "environment"\?\)\.$/);
    await write({ ...base, stages: { Staging: {} } });
    await expect(loadProject(root)).rejects.toThrow(/stages/);
  });
});
