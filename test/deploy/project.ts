import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { scaffold } from "../../src/scaffold/init.js";

/** A project as `lamp init` makes it, plus what `composer install` would add to vendor/. */
export interface TestProject {
  root: string;
  remove(): Promise<void>;
}

export async function makeProject(
  options: { region?: string; name?: string; brefVersion?: string | null; vendor?: boolean; php?: string; arch?: string } = {},
): Promise<TestProject> {
  const work = await mkdtemp(path.join(tmpdir(), "lamp-deploy-test-"));
  const root = path.join(work, "app");
  await scaffold({ target: root, name: options.name ?? "shop", region: options.region ?? "eu-west-1", php: options.php ?? "8.4", arch: options.arch ?? "arm64", memory: "1024", force: false }, new AbortController().signal);
  if (options.vendor !== false) {
    await mkdir(path.join(root, "vendor", "bref", "bref"), { recursive: true });
    await mkdir(path.join(root, "vendor", "composer"), { recursive: true });
    await writeFile(path.join(root, "vendor", "autoload.php"), "<?php\nrequire __DIR__ . '/composer/autoload_real.php';\n");
    await writeFile(path.join(root, "vendor", "bref", "bref", "composer.json"), '{"name": "bref/bref"}\n');
    // The runtime classes the layer's bootstrap loads (their presence is what lamp deploy checks).
    await mkdir(path.join(root, "vendor", "bref", "bref", "src", "FpmRuntime"), { recursive: true });
    for (const file of ["Main.php", "FpmHandler.php"]) await writeFile(path.join(root, "vendor", "bref", "bref", "src", "FpmRuntime", file), "<?php\n");
    if (options.brefVersion !== null) {
      const installed = { packages: [{ name: "bref/bref", version: options.brefVersion ?? "3.0.9" }] };
      await writeFile(path.join(root, "vendor", "composer", "installed.json"), JSON.stringify(installed));
    }
  }
  return { root, remove: () => rm(work, { recursive: true, force: true }) };
}
