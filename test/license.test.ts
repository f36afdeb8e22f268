import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/run-lamp.js";

describe("the npm package's licence", () => {
  it("ships a LICENSE whose text is the licence package.json names (MIT)", () => {
    const { license } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { license: string };
    expect(license).toBe("MIT");
    const text = readFileSync(path.join(repoRoot, "LICENSE"), "utf8");
    expect(text.split("\n")[0]).toBe("MIT License");
    expect(text).toMatch(/^Copyright \(c\) \d{4} serverless-lamp contributors$/m);
    expect(text).toContain("Permission is hereby granted, free of charge, to any person obtaining a copy");
    // What `npm publish` would put in the tarball (no build needed to list it).
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as {
      files: { path: string }[];
    }[];
    expect(packed[0]!.files.map((file) => file.path)).toContain("LICENSE");
  }, 30_000);
});
