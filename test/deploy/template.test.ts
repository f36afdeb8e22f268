import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { LampError } from "../../src/core/errors.js";
import { packagePath } from "../../src/core/paths.js";
import { capabilitiesFor, fingerprintOf, packageTemplate, serializeTemplate, withFingerprint } from "../../src/deploy/deployable-template.js";
import { parseTemplate } from "../../src/project/sam-template.js";

const code = { bucket: "artifacts", key: "code/abc.zip" };
const minimal = `
Transform: AWS::Serverless-2016-10-31
Resources:
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: public/index.php
      Environment:
        Variables:
          BREF_RUNTIME: fpm
          LOG_LEVEL: info
`;

describe("template.yaml parsing", () => {
  it("turns every short-form tag into its long form", () => {
    const template = parseTemplate(`
Resources:
  A:
    Type: AWS::S3::Bucket
    Properties:
      Ref: !Ref B
      Sub: !Sub "\${AWS::StackName}-x"
      SubList: !Sub ["\${X}", { X: !Ref C }]
      Att: !GetAtt Fn.FunctionMetadata.FunctionARN
      Join: !Join ["-", [a, !Select [2, !Split ["/", !Ref AWS::StackId]]]]
      If: !If [IsProd, !Ref AWS::NoValue, 1]
`);
    expect(template.Resources!.A!.Properties).toEqual({
      Ref: { Ref: "B" },
      Sub: { "Fn::Sub": "${AWS::StackName}-x" },
      SubList: { "Fn::Sub": ["${X}", { X: { Ref: "C" } }] },
      Att: { "Fn::GetAtt": ["Fn", "FunctionMetadata.FunctionARN"] },
      Join: { "Fn::Join": ["-", ["a", { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] }]] },
      If: { "Fn::If": ["IsProd", { Ref: "AWS::NoValue" }, 1] },
    });
  });

  it("parses the template lamp init writes", async () => {
    const text = (await readFile(packagePath("templates", "app", "template.yaml"), "utf8")).replaceAll(/\{\{\w+\}\}/g, "x");
    const template = parseTemplate(text);
    expect(template.Resources!.WebFunction!.Type).toBe("AWS::Serverless::Function");
  });

  it("reports YAML errors with a line, and unknown tags", () => {
    expect(() => parseTemplate("Resources:\n  A: [\n")).toThrow(/template.yaml line \d+/);
    expect(() => parseTemplate("Resources:\n  A:\n    Type: X\n    P: !Bogus 1\n")).toThrow(/unknown tag !Bogus/);
    expect(() => parseTemplate("Description: x\n")).toThrow(/has no Resources/);
  });
});

describe("packaging the template", () => {
  it("injects lamp.json's environment over the template's, keeps BREF_RUNTIME=fpm, points CodeUri at the package", () => {
    const template = parseTemplate(minimal);
    const packaged = packageTemplate(template, { handler: "public/index.php", environment: { LOG_LEVEL: "debug", APP_ENV: "prod" }, code });
    const web = packaged.Resources!.WebFunction!.Properties!;
    expect(web.Environment).toEqual({ Variables: { BREF_RUNTIME: "fpm", LOG_LEVEL: "debug", APP_ENV: "prod" } });
    expect(web.CodeUri).toEqual({ Bucket: "artifacts", Key: "code/abc.zip" });
    // The input is untouched.
    expect(template.Resources!.WebFunction!.Properties!.CodeUri).toBe(".");
  });

  it("refuses a BREF_RUNTIME other than fpm, reserved Lambda variables, and a handler mismatch", () => {
    const template = parseTemplate(minimal);
    const attempt = (environment: Record<string, string>, handler = "public/index.php") => () => packageTemplate(template, { handler, environment, code });
    expect(attempt({ BREF_RUNTIME: "function" })).toThrow(/BREF_RUNTIME is "function".*PHP-FPM runtime/);
    expect(attempt({ BREF_RUNTIME: "fpm" })).not.toThrow();
    expect(attempt({ AWS_REGION: "x" })).toThrow(/set by Lambda itself/);
    expect(attempt({}, "index.php")).toThrow(LampError);
    expect(attempt({}, "index.php")).toThrow(/Handler "public\/index.php", but lamp.json's handler is "index.php"/);
    expect(attempt({ BIG: "x".repeat(5000) })).toThrow(/Lambda allows 4096/);
  });

  it("asks for CAPABILITY_NAMED_IAM only when an IAM resource has an explicit name", () => {
    const template = parseTemplate(minimal);
    expect(capabilitiesFor(template)).toEqual(["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]);
    template.Resources!.Role = { Type: "AWS::IAM::Role", Properties: { RoleName: "fixed" } };
    expect(capabilitiesFor(template)).toContain("CAPABILITY_NAMED_IAM");
  });

  it("fingerprints the content: stable for the same input, different for another package", () => {
    const template = parseTemplate(minimal);
    const make = (key: string) => fingerprintOf(packageTemplate(template, { handler: "public/index.php", environment: {}, code: { bucket: "", key } }));
    expect(make("code/a.zip")).toBe(make("code/a.zip"));
    expect(make("code/a.zip")).not.toBe(make("code/b.zip"));
    const stamped = withFingerprint(template, "f1");
    expect(JSON.parse(serializeTemplate(stamped)).Outputs.LampFingerprint.Value).toBe("f1");
  });
});
