import { describe, expect, it } from "vitest";
import { cachedSha256, parseHashCache, serializeHashCache, type HashCacheEntry } from "../../src/assets/hash-cache.js";

const sha = (character: string) => character.repeat(64);
const stamp = { size: 120, mtimeNs: "1764000000123456789", ctimeNs: "1764000000123456789", ino: "4242" };
const entry: HashCacheEntry = { ...stamp, sha256: sha("a") };
const folder = "/site/assets";
/** Written a second after the files were last touched. */
const settled = BigInt(stamp.mtimeNs) + 1_000_000_000n;

describe("the local hash cache", () => {
  const cache = parseHashCache(serializeHashCache(folder, [["css/app.css", entry]]), folder, settled);

  it("gives the recorded hash while size, mtime, ctime and inode are all unchanged", () => {
    expect(cachedSha256(cache, "css/app.css", stamp)).toBe(sha("a"));
  });

  it.each([
    ["size", { size: 121 }],
    ["mtime", { mtimeNs: "1764000000123456790" }],
    ["ctime (content rewritten and mtime put back)", { ctimeNs: "1764000500000000000" }],
    ["inode (file replaced)", { ino: "4243" }],
  ])("gives nothing once the %s changed", (_, change) => {
    expect(cachedSha256(cache, "css/app.css", { ...stamp, ...change })).toBeUndefined();
  });

  it("does not trust an entry whose file was touched when, or after, the cache was written (racy, as in Git's index)", () => {
    const text = serializeHashCache(folder, [["css/app.css", entry]]);
    expect(cachedSha256(parseHashCache(text, folder, BigInt(stamp.mtimeNs)), "css/app.css", stamp)).toBeUndefined();
    expect(cachedSha256(parseHashCache(text, folder, undefined), "css/app.css", stamp)).toBeUndefined();
  });

  it("ignores a cache for another folder, a corrupt one and malformed entries", () => {
    const text = serializeHashCache(folder, [["a.css", entry]]);
    expect(parseHashCache(text, "/other/assets", settled).files.size).toBe(0);
    expect(parseHashCache("{not json", folder, settled).files.size).toBe(0);
    const malformed = JSON.stringify({ version: 1, folder, files: { "a.css": { ...entry, sha256: "short" }, "b.css": { ...entry, ino: 5 }, "c.css": entry } });
    expect([...parseHashCache(malformed, folder, settled).files.keys()]).toEqual(["c.css"]);
  });

  it("is written sorted, so the same files give the same bytes", () => {
    const other: HashCacheEntry = { ...entry, sha256: sha("b") };
    expect(serializeHashCache(folder, [["b.css", other], ["a.css", entry]])).toBe(serializeHashCache(folder, [["a.css", entry], ["b.css", other]]));
  });
});
