import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planProject } from "../../src/scaffold/init.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";

const base = { target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false };
const lampJson = async (domain: string[]) => {
  const { files } = await planProject({ ...base, domain });
  return JSON.parse(files.find((file) => file.path === "lamp.json")!.content.toString("utf8")) as Record<string, unknown>;
};

describe("lamp init --domain", () => {
  it("writes one name as a string, several as the main name with aliases, in canonical form", async () => {
    expect((await lampJson(["WWW.Example.com"])).domain).toBe("www.example.com");
    expect((await lampJson(["example.com", "www.example.com"])).domain).toEqual({ name: "example.com", aliases: ["www.example.com"] });
  });

  it("refuses a name that cannot work, naming the flag", async () => {
    await expect(planProject({ ...base, domain: ["*.example.com"] })).rejects.toMatchObject({ code: "usage", message: '--domain "*.example.com" is a wildcard; the main name must be one host, the address the site redirects to.' });
    await expect(planProject({ ...base, domain: ["example"] })).rejects.toMatchObject({ message: '--domain "example" is not a domain name (it needs a dot, as in example.com).' });
  });

  it("takes repeated flags and commas at the command line", async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), "lamp-init-domain-"));
    try {
      const run = await runCliInProcess(["init", "site", "--yes", "--domain", "example.com,www.example.com", "--domain", "shop.example.com"], { cwd: scratch, env: { AWS_REGION: "eu-west-1" } });
      expect(run.code).toBe(0);
      const config = JSON.parse(await readFile(path.join(scratch, "site", "lamp.json"), "utf8")) as Record<string, unknown>;
      expect(config.domain).toEqual({ name: "example.com", aliases: ["www.example.com", "shop.example.com"] });
      const bad = await runCliInProcess(["init", "other", "--yes", "--domain", "exa mple.com"], { cwd: scratch, env: { AWS_REGION: "eu-west-1" } });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^✖ --domain "exa mple.com" has the label "exa mple"/);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
