import { describe, expect, it } from "vitest";
import { parseTemplate, type Template } from "../../src/project/sam-template.js";
import { planProject } from "../../src/scaffold/init.js";
import { secretLookingNames, secretNameProblem, secretsCostNote } from "../../src/secrets/names.js";
import { applySecrets, secretsVersion } from "../../src/secrets/apply-secrets.js";

async function initTemplate(): Promise<Template> {
  const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
  return parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8"));
}
const web = (template: Template) => (template.Resources as Record<string, any>).WebFunction.Properties;

describe("applySecrets", () => {
  it("without secrets leaves the template as it is: no policy, no variable", async () => {
    const template = await initTemplate();
    expect(applySecrets(template, { stackName: "shop", secrets: [] })).toBe(template);
  });

  it("a new value (a later lastModified) changes LAMP_SECRETS_VERSION, so the next deploy updates the function", async () => {
    const template = await initTemplate();
    const before = web(applySecrets(template, { stackName: "shop", secrets: [{ name: "A_KEY", lastModified: "2026-01-01T00:00:00.000Z" }] }));
    const after = web(applySecrets(template, { stackName: "shop", secrets: [{ name: "A_KEY", lastModified: "2026-01-02T00:00:00.000Z" }] }));
    expect(before.Environment.Variables.LAMP_SECRETS_VERSION).not.toBe(after.Environment.Variables.LAMP_SECRETS_VERSION);
    expect(secretsVersion([{ name: "A_KEY", lastModified: "x" }])).toMatch(/^[0-9a-f]{16}$/);
    expect(web(template).Policies).toBeUndefined();
  });

  it("refuses what would break in AWS: a function with its own Role, a variable the template sets, Lambda's 4 KB environment", async () => {
    const template = await initTemplate();
    const withRole = structuredClone(template);
    web(withRole).Role = "arn:aws:iam::123456789012:role/mine";
    expect(() => applySecrets(withRole, { stackName: "shop", secrets: [{ name: "A_KEY" }] })).toThrow(/has its own Role/);
    expect(() => applySecrets(template, { stackName: "shop", secrets: [{ name: "BREF_RUNTIME" }] })).toThrow(/WebFunction sets the variable BREF_RUNTIME/);
    const many = Array.from({ length: 30 }, (_, index) => ({ name: `SECRET_NUMBER_${index}` }));
    expect(() => applySecrets(template, { stackName: "s".repeat(120), secrets: many })).toThrow(/Lambda's limit is 4096 bytes/);
  });
});

describe("secret names and values", () => {
  it("follow environment names; a name in lamp.json's environment, or one lamp sets, is refused", () => {
    expect(secretNameProblem("STRIPE_KEY", {})).toBeUndefined();
    expect(secretNameProblem("STRIPE_KEY", { STRIPE_KEY: "x" })?.message).toMatch(/also in lamp\.json's environment/);
    expect(secretNameProblem("AWS_REGION", {})?.message).toMatch(/Lambda or lamp sets itself/);
    expect(secretNameProblem("LAMP_ORIGIN_TOKEN", {})?.message).toMatch(/Lambda or lamp sets itself/);
    expect(secretNameProblem("1KEY", {})?.message).toMatch(/not an environment variable name/);
  });

  it("the cost note starts above 10 secrets (one GetParameters call per 10)", () => {
    expect(secretsCostNote(10)).toBeUndefined();
    expect(secretsCostNote(21)).toMatch(/^21 secrets: each cold start makes 3 GetParameters calls/);
  });

  it("warns of environment values that look like secrets, not of ordinary settings", () => {
    expect(
      secretLookingNames({
        STRIPE_SECRET_KEY: "sk_live_51HxQ2aBcD3eF4gH5iJ",
        APP_KEY: "base64:q7Hk2LmZ9xPa4VtR8wYcQ7Hk2LmZ9xPa4VtR8wY=",
        TOKEN_TTL: "3600",
        PASSWORD_RESET_URL: "https://example.com/reset-password-here",
        APP_ENV: "production",
        CACHE_KEY_PREFIX: "shop",
      }),
    ).toEqual(["STRIPE_SECRET_KEY", "APP_KEY"]);
  });
});
