import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/project/config.js";
import { packageTemplate } from "../../src/deploy/deployable-template.js";
import { parseTemplate } from "../../src/project/sam-template.js";
import { bundledRouterPath, effectiveHandler, ensureRouterFile, routerEnvironment, routerHandler } from "../../src/router/router.js";
import { applyRouter } from "../../src/router/apply-router.js";
import { writeNewProject } from "../helpers/new-project.js";

const template = parseTemplate(`
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: public/index.php
      Runtime: provided.al2023
      Environment:
        Variables:
          BREF_RUNTIME: fpm
`);

describe("router mode in the deployed template", () => {
  const front = defaultConfig({ stackName: "blog", region: "eu-west-1" });
  const router = defaultConfig({ stackName: "blog", region: "eu-west-1", router: true, documentRoot: "web" });

  it("leaves a front-controller project's template as it is", () => {
    expect(applyRouter(template, front)).toBe(template);
  });

  it("makes the router the handler of a project switched to router mode, and tells it the document root", () => {
    const applied = applyRouter(template, router);
    const packaged = packageTemplate(applied, { handler: effectiveHandler(router), environment: { ...router.environment, ...routerEnvironment(router) }, code: { bucket: "b", key: "k" } });
    const properties = packaged.Resources!.WebFunction!.Properties!;
    expect(properties.Handler).toBe("lamp/router.php");
    expect(properties.Environment).toEqual({ Variables: { BREF_RUNTIME: "fpm", LAMP_DOCUMENT_ROOT: "web" } });
    // Pure: the parsed template is not changed.
    expect(template.Resources!.WebFunction!.Properties!.Handler).toBe("public/index.php");
  });

  it("keeps a template that already runs the router", () => {
    const already = applyRouter(applyRouter(template, router), router);
    expect(already.Resources!.WebFunction!.Properties!.Handler).toBe(routerHandler);
  });

  it("refuses to overwrite a Handler someone chose on purpose", () => {
    const custom = parseTemplate("Resources:\n  WebFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: web/app.php\n");
    expect(() => applyRouter(custom, router)).toThrow(/WebFunction has Handler "web\/app\.php"; in router mode .* must be lamp\/router\.php/);
  });
});

describe("the router file in a project", () => {
  it("is written when missing, kept when current, and never overwritten when it differs", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "lamp-router-file-"));
    try {
      expect(await ensureRouterFile(root)).toBe("written");
      expect(readFileSync(path.join(root, routerHandler))).toEqual(readFileSync(bundledRouterPath));
      expect(await ensureRouterFile(root)).toBe("current");
      writeFileSync(path.join(root, routerHandler), "<?php // mine\n");
      expect(await ensureRouterFile(root)).toBe("differs");
      expect(readFileSync(path.join(root, routerHandler), "utf8")).toBe("<?php // mine\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("fails with a clear error when the folder cannot be written", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "lamp-router-file-"));
    try {
      mkdirSync(path.join(root, "lamp"));
      writeFileSync(path.join(root, "lamp", "router.php"), "");
      rmSync(path.join(root, "lamp"), { recursive: true });
      writeFileSync(path.join(root, "lamp"), "a file where the folder should be");
      await expect(ensureRouterFile(root)).rejects.toThrow(/Cannot (read|write) .*lamp/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("router mode without its document root", () => {
  it("lamp dev stops with one line saying which folder is missing, before starting anything", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "lamp-router-noroot-"));
    try {
      const { startDevServer } = await import("../../src/dev/server.js");
      const { createTestContext } = await import("../helpers/context.js");
      const config = defaultConfig({ stackName: "blog", region: "eu-west-1", router: true, documentRoot: "web" });
      const ctx = createTestContext({ cwd: root });
      await expect(startDevServer({ project: { root, configPath: path.join(root, "lamp.json"), config }, port: 0, host: "127.0.0.1", workers: 1 }, ctx)).rejects.toThrow(
        /lamp\.json documentRoot "web": no such folder in /,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("lamp deploy stops with the same line before writing lamp/router.php into the project", async () => {
    const project = await writeNewProject();
    try {
      const lampJson = path.join(project.root, "lamp.json");
      writeFileSync(lampJson, JSON.stringify({ ...JSON.parse(readFileSync(lampJson, "utf8")), router: true, documentRoot: "web" }));
      const { preflight } = await import("../../src/deploy/preflight.js");
      const { createTestContext } = await import("../helpers/context.js");
      await expect(preflight(project.root, createTestContext({ cwd: project.root }))).rejects.toThrow(/lamp\.json documentRoot "web": no such folder in /);
      expect(existsSync(path.join(project.root, routerHandler))).toBe(false);
    } finally {
      project.remove();
    }
  });
});
