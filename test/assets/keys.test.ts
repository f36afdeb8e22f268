import { describe, expect, it } from "vitest";
import { invalidationPathFor, keyFor, relativePathOf } from "../../src/assets/keys.js";

describe("asset keys", () => {
  it("keeps the folder structure under assets/, the prefix CloudFront's /assets/* pattern forwards", () => {
    expect(keyFor("css/app.css")).toBe("assets/css/app.css");
    expect(keyFor("ä ö/a+b#c?.js")).toBe("assets/ä ö/a+b#c?.js");
    expect(relativePathOf("assets/css/app.css")).toBe("css/app.css");
    expect(relativePathOf("other/app.css")).toBeUndefined();
  });
});

describe("invalidationPathFor", () => {
  it.each([
    ["assets/css/app.css", "/assets/css/app.css"],
    ["assets/my file.css", "/assets/my%20file.css"],
    ["assets/a#b.css", "/assets/a%23b.css"],
    ["assets/what?.css", "/assets/what%3F.css"],
    ["assets/star*.css", "/assets/star%2A.css"],
    ["assets/100%.css", "/assets/100%25.css"],
    ["assets/[1].html", "/assets/%5B1%5D.html"],
    ["assets/~home.css", "/assets/%7Ehome.css"],
    ["assets/café.css", "/assets/caf%C3%A9.css"],
    ["assets/日本.png", "/assets/%E6%97%A5%E6%9C%AC.png"],
    ["assets/😀.svg", "/assets/%F0%9F%98%80.svg"],
    // CloudFront's guide: leave other ASCII as it is, or the path no longer matches the cached one.
    ["assets/a+b.css", "/assets/a+b.css"],
    ["assets/a=b&c@d!$'(),;:.css", "/assets/a=b&c@d!$'(),;:.css"],
  ])("%s -> %s", (key, path) => {
    expect(invalidationPathFor(key)).toBe(path);
  });

  it("round-trips through decodeURI back to the key", () => {
    for (const key of ["assets/ä ö/a+b#c?.js", "assets/日本/[x] y.png"]) {
      expect(decodeURIComponent(invalidationPathFor(key).slice(1))).toBe(key);
    }
  });
});
