import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readOnlyCode, readOnlySupported } from "../../src/dev/lambda-php.js";
import { localPhpBuild } from "../../src/dev/php-extensions.js";
import { cachedProbe, namespaceSupportKey } from "../../src/dev/probe-cache.js";

/**
 * lamp dev's start-up facts (the PHP build, user-namespace support) are found out once and kept
 * in the project's .lamp/dev-probes.json, under a key that changes when what they depend on does.
 */
describe("dev start-up probes", () => {
  let directory: string;
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  /** A stand-in php-fpm that logs each run, so the test sees whether it was asked again. */
  function fakePhpFpm(version: string): { binary: string; runs: () => string[] } {
    const binary = path.join(directory, "php-fpm");
    const log = path.join(directory, "runs.log");
    writeFileSync(
      binary,
      [
        "#!/bin/sh",
        `echo "$*" >> ${log}`,
        'if [ "$1" = "-i" ]; then',
        `  echo "PHP Version => ${version}"`,
        "  echo 'Scan this dir for additional .ini files => /etc/php/fake/conf.d'",
        "else",
        "  printf '[PHP Modules]\\nCore\\ndate\\nZend OPcache\\n'",
        "fi",
        "",
      ].join("\n"),
    );
    chmodSync(binary, 0o755);
    return { binary, runs: () => readFileSync(log, "utf8").trim().split("\n") };
  }

  it("runs php-fpm -i and -n -m once per binary, and again when the binary changes", async () => {
    directory = mkdtempSync(path.join(os.tmpdir(), "lamp-probes-"));
    const cacheFile = path.join(directory, "project", ".lamp", "dev-probes.json");
    const fake = fakePhpFpm("8.3.14");
    const first = await localPhpBuild(fake.binary, cacheFile);
    expect(first).toEqual({ scanDir: "/etc/php/fake/conf.d", builtIn: new Set(["core", "date", "opcache"]), version: "8.3" });
    expect(fake.runs().sort()).toEqual(["-i", "-n -m"]);
    expect(await localPhpBuild(fake.binary, cacheFile)).toEqual(first);
    expect(fake.runs()).toHaveLength(2);
    // An upgrade replaces the binary: its facts are found out again.
    fakePhpFpm("8.4.1");
    expect((await localPhpBuild(fake.binary, cacheFile)).version).toBe("8.4");
    expect(fake.runs()).toHaveLength(4);
  });

  it("finds a fact again when its key differs or the file is not lamp's JSON, and still answers when it cannot write", async () => {
    directory = mkdtempSync(path.join(os.tmpdir(), "lamp-probes-"));
    const cacheFile = path.join(directory, "dev-probes.json");
    const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";
    let runs = 0;
    const find = () => (runs += 1) % 2 === 1;
    expect(await cachedProbe(cacheFile, "fact", "boot-1", find, isBoolean)).toBe(true);
    expect(await cachedProbe(cacheFile, "fact", "boot-1", find, isBoolean)).toBe(true);
    expect(runs).toBe(1);
    expect(await cachedProbe(cacheFile, "fact", "boot-2", find, isBoolean)).toBe(false);
    expect(runs).toBe(2);
    writeFileSync(cacheFile, "not json");
    expect(await cachedProbe(cacheFile, "fact", "boot-2", find, isBoolean)).toBe(true);
    expect(runs).toBe(3);
    const unwritable = path.join(cacheFile, "under-a-file", "dev-probes.json");
    expect(await cachedProbe(unwritable, "fact", "boot-2", find, isBoolean)).toBe(false);
  });

  it.runIf(process.platform === "linux")("keys user-namespace support to this boot, user and namespaces", () => {
    const key = namespaceSupportKey();
    expect(key).toContain(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    expect(key).toMatch(/user:\[\d+\]/);
  });

  it.skipIf(!readOnlySupported())("a stored 'no' for read-only code is asked again (a passing failure is never remembered); a 'yes' is kept", async () => {
    directory = mkdtempSync(path.join(os.tmpdir(), "lamp-probes-"));
    const file = path.join(directory, "dev-probes.json");
    writeFileSync(file, JSON.stringify({ "read-only-code": { key: namespaceSupportKey(), value: false } }));
    const warnings: string[] = [];
    const ui = { warn: (line: string) => void warnings.push(line) };
    expect(await readOnlyCode("lamp dev", ui, file)).toBe(true);
    expect(warnings).toEqual([]);
    expect(JSON.parse(readFileSync(file, "utf8"))["read-only-code"].value).toBe(true);
  });

  it.skipIf(!readOnlySupported() || process.getuid?.() !== 0)("the user-namespace probe still says yes while another file system is mounted under the temp folder", () => {
    // A tmpfs under /tmp (another test's full disk, a tool's scratch mount) made a bind of /tmp itself fail.
    directory = mkdtempSync(path.join(os.tmpdir(), "lamp-probes-mount-"));
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", directory]);
    expect(mounted.status).toBe(0);
    try {
      expect(readOnlySupported()).toBe(true);
    } finally {
      spawnSync("umount", [directory]);
    }
  });
});
