import { describe, expect, it } from "vitest";
import { newOriginToken, originTokenParameters } from "../../src/deploy/origin-token.js";
import { parseTemplate } from "../../src/project/sam-template.js";
import { planProject } from "../../src/scaffold/init.js";

const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
const template = parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8"));

let counter = 0;
const token = () => `token${String((counter += 1)).padStart(35, "0")}`;
const deployed = (slot: string) => ({ StackName: "shop", CreationTime: new Date(0), StackStatus: "UPDATE_COMPLETE" as const, Parameters: [{ ParameterKey: "LampOriginSlot", ParameterValue: slot }, { ParameterKey: "LampOriginTokenA", ParameterValue: "****" }] });

describe("the origin token's rotation", () => {
  it("gives a new stack two random values and sends slot A", () => {
    expect(originTokenParameters(template, undefined, "CREATE", token)).toEqual([
      { ParameterKey: "LampOriginSlot", ParameterValue: "A" },
      { ParameterKey: "LampOriginTokenA", ParameterValue: expect.stringMatching(/^token/) },
      { ParameterKey: "LampOriginTokenB", ParameterValue: expect.stringMatching(/^token/) },
    ]);
  });

  it("on each update, writes a new value into the slot CloudFront does not send and switches to it, keeping the other for the edges still sending it", () => {
    const fromA = originTokenParameters(template, deployed("A"), "UPDATE", token);
    expect(fromA).toEqual([
      { ParameterKey: "LampOriginSlot", ParameterValue: "B" },
      { ParameterKey: "LampOriginTokenB", ParameterValue: expect.stringMatching(/^token/) },
      { ParameterKey: "LampOriginTokenA", UsePreviousValue: true },
    ]);
    const fromB = originTokenParameters(template, deployed("B"), "UPDATE", token);
    expect(fromB[0]).toEqual({ ParameterKey: "LampOriginSlot", ParameterValue: "A" });
    expect(fromB[1]).toEqual({ ParameterKey: "LampOriginTokenA", ParameterValue: expect.stringMatching(/^token/) });
    expect(fromB[2]).toEqual({ ParameterKey: "LampOriginTokenB", UsePreviousValue: true });
  });

  it("leaves a template without the parameters (a project made before them) alone", () => {
    const old = structuredClone(template);
    delete old.Parameters;
    expect(originTokenParameters(old, deployed("A"), "UPDATE", token)).toEqual([]);
  });

  it("makes tokens of 40 letters and digits, never the same twice", () => {
    const tokens = new Set(Array.from({ length: 200 }, newOriginToken));
    expect(tokens.size).toBe(200);
    for (const value of tokens) expect(value).toMatch(/^[A-Za-z0-9]{40}$/);
  });
});
