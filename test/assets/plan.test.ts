import { describe, expect, it } from "vitest";
import { describesListing, emptyManifest, manifestFrom, parseManifest, serializeManifest, withManifest } from "../../src/assets/manifest.js";
import type { LocalAsset, RemoteObject } from "../../src/assets/model.js";
import { keysToInspect, planInvalidation, planSync } from "../../src/assets/plan.js";

function asset(relativePath: string, content: string, extra: Partial<LocalAsset> = {}): LocalAsset {
  return {
    relativePath,
    absolutePath: `/site/assets/${relativePath}`,
    size: content.length,
    sha256: `sha-of-${content}`,
    contentType: "text/css; charset=utf-8",
    cacheControl: "public, max-age=300, must-revalidate",
    ...extra,
  };
}

function remoteOf(local: LocalAsset, extra: Partial<RemoteObject> = {}): RemoteObject {
  return {
    key: `assets/${local.relativePath}`,
    size: local.size,
    etag: `etag-${local.sha256}`,
    sha256: local.sha256,
    contentType: local.contentType,
    cacheControl: local.cacheControl,
    ...extra,
  };
}

const byKey = (objects: RemoteObject[]) => new Map(objects.map((object) => [object.key, object]));

describe("planSync", () => {
  const same = asset("same.css", "same");
  const changed = asset("changed.css", "new content");
  const fresh = asset("fresh.css", "fresh");
  const retyped = asset("retyped.svg", "svg", { contentType: "image/svg+xml; charset=utf-8" });
  const recached = asset("app.css", "app", { cacheControl: "no-cache" });
  const remote = byKey([
    remoteOf(same),
    remoteOf(changed, { sha256: "sha-of-old content", size: 11 }),
    remoteOf(retyped, { contentType: "text/plain" }),
    remoteOf(recached, { cacheControl: "public, max-age=300, must-revalidate" }),
    { key: "assets/gone.css", size: 3, etag: "x" },
  ]);

  it("uploads new, changed and re-typed or re-cached files, keeps the rest, deletes what is gone", () => {
    const plan = planSync([same, changed, fresh, retyped, recached], remote, { force: false, delete: true });
    expect(plan.uploads.map((upload) => [upload.key, upload.reason])).toEqual([
      ["assets/app.css", "metadata"],
      ["assets/changed.css", "changed"],
      ["assets/fresh.css", "new"],
      ["assets/retyped.svg", "metadata"],
    ]);
    expect(plan.unchanged.map((entry) => entry.key)).toEqual(["assets/same.css"]);
    expect(plan.deletes).toEqual(["assets/gone.css"]);
  });

  it("never deletes the object of a file or folder that exists but could not be read", () => {
    const objects = byKey([
      remoteOf(same),
      { key: "assets/locked.css", size: 1, etag: "a" },
      { key: "assets/secret/x.css", size: 1, etag: "b" },
      { key: "assets/secret-other.css", size: 1, etag: "c" },
    ]);
    const plan = planSync([same], objects, { force: false, delete: true, unreadable: ["locked.css", "secret/"] });
    expect(plan.deletes).toEqual(["assets/secret-other.css"]);
  });

  it("deletes nothing without --delete", () => {
    expect(planSync([same], remote, { force: false, delete: false }).deletes).toEqual([]);
  });

  it("uploads everything with --force, still calling new files new", () => {
    const plan = planSync([same, fresh], remote, { force: true, delete: false });
    expect(plan.uploads.map((upload) => upload.reason)).toEqual(["new", "forced"]);
    expect(plan.unchanged).toEqual([]);
  });

  it("replaces an object whose content lamp cannot vouch for (no hash), even when the size matches", () => {
    const foreign = byKey([{ key: "assets/same.css", size: same.size, etag: "abc" }]);
    expect(planSync([same], foreign, { force: false, delete: true }).uploads[0]?.reason).toBe("changed");
  });

  it("compares by content, not by size: same size, different hash is a change", () => {
    const plan = planSync([same], byKey([remoteOf(same, { sha256: "other" })]), { force: false, delete: true });
    expect(plan.uploads.map((upload) => upload.reason)).toEqual(["changed"]);
  });

  it("never deletes keys outside assets/", () => {
    const plan = planSync([], byKey([{ key: ".lamp/assets-manifest.json", size: 1, etag: "m" }, { key: "assets/x", size: 1, etag: "x" }]), {
      force: false,
      delete: true,
    });
    expect(plan.deletes).toEqual(["assets/x"]);
  });
});

describe("keysToInspect", () => {
  it("asks only about local files whose remote object has no known hash", () => {
    const a = asset("a.css", "a");
    const b = asset("b.css", "b");
    const c = asset("c.css", "c");
    const remote = byKey([remoteOf(a), { key: "assets/b.css", size: 1, etag: "e" }, { key: "assets/orphan.css", size: 1, etag: "o" }]);
    expect(keysToInspect([a, b, c], remote, false)).toEqual(["assets/b.css"]);
    expect(keysToInspect([a, b, c], remote, true)).toEqual([]);
  });
});

describe("planInvalidation", () => {
  const uploads = (reasons: ("new" | "changed" | "metadata" | "forced")[]) =>
    reasons.map((reason, index) => ({ key: `assets/f${index}.css`, asset: asset(`f${index}.css`, "x"), reason }));

  it("invalidates changed and deleted objects, never new ones", () => {
    const plan = planInvalidation({ uploads: uploads(["new", "changed", "metadata", "forced"]), deletes: ["assets/old file.css"] }, 50);
    expect(plan).toEqual({ paths: ["/assets/f1.css", "/assets/f2.css", "/assets/f3.css", "/assets/old%20file.css"], objects: 4 });
  });

  it("needs no invalidation when only new files were uploaded or nothing changed", () => {
    expect(planInvalidation({ uploads: uploads(["new", "new"]), deletes: [] }, 50)).toBeUndefined();
    expect(planInvalidation({ uploads: [], deletes: [] }, 50)).toBeUndefined();
  });

  it("sends one /assets/* above the threshold, and exactly the paths at it", () => {
    const deletes = Array.from({ length: 5 }, (_, index) => `assets/d${index}.css`);
    expect(planInvalidation({ uploads: [], deletes }, 5)?.paths).toHaveLength(5);
    expect(planInvalidation({ uploads: [], deletes }, 4)).toEqual({ paths: ["/assets/*"], objects: 5 });
  });

  it("adds paths a previous run could not send", () => {
    expect(planInvalidation({ uploads: [], deletes: [] }, 50, ["/assets/late.css"])?.paths).toEqual(["/assets/late.css"]);
    expect(planInvalidation({ uploads: [], deletes: ["assets/a"] }, 50, ["/assets/*"])?.paths).toEqual(["/assets/*"]);
  });
});

describe("manifest", () => {
  const a = asset("a.css", "a");
  const recorded = remoteOf(a);

  it("vouches for an object only while its ETag and size are what lamp recorded", () => {
    const manifest = manifestFrom([recorded], []);
    const listed = (extra: Partial<RemoteObject> = {}): RemoteObject => ({ key: recorded.key, size: recorded.size, etag: recorded.etag, ...extra });
    expect(withManifest([listed()], manifest).get(recorded.key)).toEqual(recorded);
    expect(withManifest([listed({ etag: "replaced-by-someone" })], manifest).get(recorded.key)?.sha256).toBeUndefined();
    expect(withManifest([listed({ size: 99 })], manifest).get(recorded.key)?.sha256).toBeUndefined();
  });

  it("describes a listing only when it records exactly those objects, unchanged", () => {
    const manifest = manifestFrom([recorded], []);
    const listed = (extra: Partial<RemoteObject> = {}): RemoteObject => ({ key: recorded.key, size: recorded.size, etag: recorded.etag, ...extra });
    expect(describesListing(manifest, [listed()])).toBe(true);
    expect(describesListing(manifest, [listed({ etag: "other" })])).toBe(false);
    expect(describesListing(manifest, [])).toBe(false);
    expect(describesListing(manifest, [listed(), { key: "assets/new.css", size: 1, etag: "n" }])).toBe(false);
  });

  it("round-trips through its JSON form, and treats garbage as no manifest", () => {
    const manifest = manifestFrom([recorded, { key: "assets/unknown", size: 1, etag: "u" }], ["/assets/b.css", "/assets/a.css", "/assets/a.css"]);
    expect(Object.keys(manifest.objects)).toEqual(["assets/a.css"]);
    expect(manifest.pendingInvalidation).toEqual(["/assets/a.css", "/assets/b.css"]);
    expect(parseManifest(serializeManifest(manifest))).toEqual(manifest);
    expect(parseManifest("not json")).toEqual(emptyManifest());
    expect(parseManifest('{"version":2,"objects":{}}')).toEqual(emptyManifest());
    expect(parseManifest('{"version":1,"objects":{"k":{"etag":1}}}').objects).toEqual({});
    expect(parseManifest(undefined)).toEqual(emptyManifest());
  });
});
