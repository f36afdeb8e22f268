import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";
import { loadProject } from "../../src/project/config.js";
import { parseTemplate } from "../../src/project/sam-template.js";
import { lambdaRuntimeOf } from "../../src/dev/lambda-runtime.js";
import { localStack } from "../../src/dev/local-stack.js";
import { startDevServer, uiDevLog, type DevServer } from "../../src/dev/server.js";
import { planProject } from "../../src/scaffold/init.js";
import { createTestContext } from "../helpers/context.js";
import { copyFixtureApp, phpFpmForTests } from "./helpers.js";

const phpFpm = phpFpmForTests();

function template(layer: string, variables: string) {
  return parseTemplate(`
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: public/index.php
      Layers: [${layer}]
      Environment:
        Variables:
${variables}
`);
}

describe("what template.yaml tells lamp dev", () => {
  it("reads the scaffolded template: its variables (the origin token, random per run), PHP version, memory, origin header and Timeout", async () => {
    const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.3", arch: "x86_64", memory: "1024", force: false });
    const text = files.find((file) => file.path === "template.yaml")!.content.toString("utf8");
    const uuid = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";
    const runtime = lambdaRuntimeOf(parseTemplate(text), localStack("shop", "eu-west-1", uuid));
    // The origin token's two slots get random values for the run; CloudFront sends slot A (the Default slot).
    const [slotA, slotB] = runtime.environment.LAMP_ORIGIN_TOKEN!.split(",");
    expect(slotA).toMatch(/^[0-9a-f]{48}$/);
    expect(slotB).toMatch(/^[0-9a-f]{48}$/);
    expect(slotA).not.toBe(slotB);
    expect(runtime).toEqual({
      environment: { BREF_RUNTIME: "fpm", BREF_BINARY_RESPONSES: "1", LAMP_ORIGIN_TOKEN: `${slotA},${slotB}` },
      architecture: "x86_64",
      phpVersion: "8.3",
      memorySize: 1024,
      originHeaders: [["x-lamp-origin", slotA]],
      timeoutSeconds: 28,
    });
    expect(JSON.stringify(runtime)).not.toContain(uuid);
  });

  it("knows Bref 2 layer names and leaves out values it cannot know locally; no Timeout is Lambda's default of 3 s", () => {
    const runtime = lambdaRuntimeOf(
      template("arn:aws:lambda:eu-west-1:534081306603:layer:arm-php-82-fpm:90", "          PLAIN: yes-plain\n          TABLE: !Ref SessionsTable\n          STACK: !Sub \"${AWS::StackName}-${AWS::Region}\""),
      localStack("shop", "eu-west-1"),
    );
    expect(runtime).toEqual({ environment: { PLAIN: "yes-plain", STACK: "shop-eu-west-1" }, phpVersion: "8.2", architecture: "x86_64", originHeaders: [], timeoutSeconds: 3 });
  });
});

describe.skipIf(!phpFpm)("lamp dev with a template.yaml", () => {
  let server: DevServer | undefined;
  let app: ReturnType<typeof copyFixtureApp> | undefined;
  afterEach(async () => {
    await server?.close();
    app?.remove();
  });

  it("gives PHP the template's variables under lamp.json's, and warns when php-fpm is another PHP version", async () => {
    app = copyFixtureApp();
    writeFileSync(
      path.join(app.root, "template.yaml"),
      `Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: public/index.php
      Layers: [arn:aws:lambda:eu-west-1:873528684822:layer:arm-php-99:1]
      Environment:
        Variables:
          BREF_RUNTIME: fpm
          APP_GREETING: from the template
`,
    );
    const ctx = createTestContext({ cwd: app.root, env: process.env, clock: systemClock });
    server = await startDevServer({ project: await loadProject(app.root), port: 0, host: "127.0.0.1", workers: 1, phpFpm }, ctx, uiDevLog(ctx));
    const dump = (await (await fetch(`${server.url}/dump`)).json()) as { server: Record<string, string>; getenv: string };
    expect(dump.server.BREF_RUNTIME).toBe("fpm");
    expect(dump.getenv).toBe("hello from lamp.json"); // lamp.json wins, as deploy adds it over the template
    expect(ctx.ui.texts("warn").join("\n")).toMatch(/is PHP \d+\.\d+, but template\.yaml deploys PHP 9\.9: what works here may not work in Lambda/);
  });
});
