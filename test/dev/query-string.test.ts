import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildQuery, parseQuery, rawUrlEncodeBytes, rebuildQueryString } from "../../src/dev/query-string.js";

function hasPhp(): boolean {
  try {
    execFileSync("php", ["-v"]);
    return true;
  } catch {
    if (process.env.CI) throw new Error("php (the CLI) is required in CI for the query-string oracle test.");
    console.warn("\n⚠⚠⚠ SKIPPING the PHP oracle for query strings: `php` not found (install Debian's php-cli). ⚠⚠⚠\n");
    return false;
  }
}

describe("QUERY_STRING as Bref rebuilds it", () => {
  it.each([
    ["dots in keys are kept (crwlr/query-string)", "foo.bar=1&a.b[c.d]=2", "foo.bar=1&a.b%5Bc.d%5D=2"],
    ["a repeated plain key becomes a list", "a=1&a=2", "a%5B0%5D=1&a%5B1%5D=2"],
    ["arrays get explicit indexes", "vars[val1]=foo&vars[val2][]=bar", "vars%5Bval1%5D=foo&vars%5Bval2%5D%5B0%5D=bar"],
    ["+ and %20 both become %20", "q=a+b%20c", "q=a%20b%20c"],
    ["hex is upper-case, UTF-8 kept", "u=%e2%82%ac", "u=%E2%82%AC"],
    ["an unclosed bracket becomes an underscore", "arr[1=x", "arr_1=x"],
    ["empty pairs are dropped, a key without = gets an empty value", "&&a=1&&flag", "a=1&flag="],
    ["a stray % is encoded", "p=100%", "p=100%25"],
    ["literal spaces in keys are kept", "my+key=1", "my%20key=1"],
    ["an empty query stays empty", "", ""],
  ])("%s", (_what, raw, expected) => {
    expect(rebuildQueryString(raw)).toBe(expected);
  });

  it("reads nested arrays into PHP's structure", () => {
    expect(parseQuery("n[0]=a&n[x][]=b&n[x][]=c&n[]=d").toJSON()).toEqual({ n: { 0: "a", x: { 0: "b", 1: "c" }, 1: "d" } });
  });

  it("rawurlencode leaves only unreserved characters", () => {
    // Byte strings: é is the two UTF-8 bytes C3 A9.
    expect(rawUrlEncodeBytes(Buffer.from("a-_.~ !*'()/é").toString("latin1"))).toBe("a-_.~%20%21%2A%27%28%29%2F%C3%A9");
  });

  it.runIf(hasPhp())("matches PHP's own parse_str + http_build_query wherever crwlr does not differ", () => {
    // No literal dots or spaces in key names, no repeated plain keys: the cases where crwlr is parse_str.
    const queries = [
      "a=1&b=2",
      "a[]=1&a[]=2&a[5]=x&a[]=y",
      "k%5Bq%5D=1&k[r][s]=2",
      "x=a+b%20c&y=%E2%82%AC&z=%zz&w=100%",
      "e[]=&f=&g",
      "a[b][c=1&d[e=2",
      "01=z&1=y&-3=q",
      "a%2Eb=1&c%20d=2",
      "n[0]=a&n[x][]=b&n[]=c",
      "amp=%26&eq=%3D&plus=%2B&hash=%23",
      "%00x=1&y%00z=2",
    ];
    for (const query of queries) {
      const php = execFileSync("php", ["-r", 'parse_str($argv[1], $a); echo http_build_query($a, "", "&", PHP_QUERY_RFC3986);', query]).toString();
      expect(buildQuery(parseQuery(query)), query).toBe(php);
    }
  });
});
