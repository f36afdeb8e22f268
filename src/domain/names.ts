import { createHash } from "node:crypto";
import { domainToASCII } from "node:url";
import type { DomainSetting } from "../project/config.js";
import { LampError } from "../core/errors.js";

/** The site's names, checked and in DNS's canonical form (lowercase ASCII, no trailing dot). */
export interface SiteDomain {
  /** Where the site lives: every other host is redirected here. */
  main: string;
  /** Extra names the distribution answers for, each redirected to `main`. */
  aliases: string[];
  /** `main` first, then the aliases: what the certificate must cover. */
  names: string[];
}

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** ACM's limit on a certificate's first name (its subject's common name). */
const mainNameLimit = 64;

/** Why `name` cannot be a host name on a certificate, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (name.length > 253) return "is longer than the 253 characters a domain name may have";
  const labels = name.split(".");
  if (labels.length < 2) return "is not a domain name (it needs a dot, as in example.com)";
  const [first, ...rest] = labels;
  if (first!.includes("*")) {
    if (first !== "*") return "has a * inside a label; a wildcard can only be a whole first label, as in *.example.com";
    if (rest.length < 2) return "is a wildcard over a top-level domain, which no certificate can cover";
  }
  if (rest.some((part) => part.includes("*"))) return "has a * after the first label; a wildcard can only be the first label, as in *.example.com";
  const bad = labels.find((part, index) => !(index === 0 && part === "*") && !label.test(part));
  if (bad !== undefined) {
    return bad === ""
      ? "has an empty label (two dots in a row, or a dot at the start)"
      : `has the label "${bad}": labels are 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen`;
  }
  if (/^[0-9]+$/.test(labels.at(-1)!)) return "is an IP address or ends in a numeric label; certificates need a domain name";
  return undefined;
}

/** Lowercase ASCII (an internationalized name becomes its xn-- form), without the root's trailing dot. */
function canonical(name: string): string {
  const trimmed = name.trim().replace(/\.$/, "");
  if (trimmed.startsWith("*.")) {
    const rest = domainToASCII(trimmed.slice(2));
    return rest ? `*.${rest}` : trimmed.toLowerCase();
  }
  return domainToASCII(trimmed) || trimmed.toLowerCase();
}

const fixConfig = "Fix lamp.json's domain: a name such as www.example.com, or {\"name\": \"example.com\", \"aliases\": [\"www.example.com\"]}.";

/**
 * Checks lamp.json's `domain` and puts it in canonical form; undefined when there is none.
 * `from` names where the names came from in messages (`lamp init --domain` passes "--domain").
 */
export function siteDomain(setting: DomainSetting | undefined, from: "lamp.json" | "--domain" = "lamp.json"): SiteDomain | undefined {
  if (setting === undefined) return undefined;
  const rawMain = typeof setting === "string" ? setting : setting.name;
  const rawAliases = typeof setting === "string" ? [] : (setting.aliases ?? []);
  const main = canonical(rawMain);
  const flag = from === "--domain";
  const code = flag ? "usage" : "config";
  const where = flag ? "--domain" : typeof setting === "string" ? "lamp.json: domain" : "lamp.json: domain.name";
  const aliasWhere = (index: number) => (flag ? "--domain" : `lamp.json: domain.aliases[${index}]`);
  const fix = flag ? "Pass --domain with a name such as www.example.com (repeat it for extra names that redirect to the first)." : fixConfig;
  if (main.startsWith("*")) {
    throw new LampError(
      code,
      `${where} "${rawMain}" is a wildcard; the main name must be one host, the address the site redirects to.`,
      `Name the main host (e.g. "www.${main.slice(2)}") first and "${main}" after it${flag ? "" : " in domain.aliases"}.`,
    );
  }
  const mainProblem = nameProblem(main);
  if (mainProblem) throw new LampError(code, `${where} "${rawMain}" ${mainProblem}.`, fix);
  if (main.length > mainNameLimit) {
    throw new LampError(
      code,
      `${where} "${main}" is ${main.length} characters; ACM allows ${mainNameLimit} for a certificate's first name.`,
      "Make a shorter name the main one and this one an extra name.",
    );
  }
  const names = [main];
  for (const [index, raw] of rawAliases.entries()) {
    const alias = canonical(raw);
    const problem = nameProblem(alias);
    if (problem) throw new LampError(code, `${aliasWhere(index)} "${raw}" ${problem}.`, fix);
    if (names.includes(alias)) throw new LampError(code, `${aliasWhere(index)} "${raw}" is listed twice (or is the main name).`, "Remove the repeated name.");
    names.push(alias);
  }
  return { main, aliases: names.slice(1), names };
}

/**
 * Whether a certificate name covers a host name. A wildcard covers exactly one label:
 * `*.example.com` covers `www.example.com`, not `example.com` nor `a.b.example.com`.
 */
export function covers(certificateName: string, name: string): boolean {
  const pattern = certificateName.toLowerCase().replace(/\.$/, "");
  if (pattern === name) return true;
  if (!pattern.startsWith("*.")) return false;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/** Whether a certificate with these names serves every one of `names`. */
export function coversAll(certificateNames: string[], names: string[]): boolean {
  return names.every((name) => certificateNames.some((certificateName) => covers(certificateName, name)));
}

/** Same names, any order, any case. */
export function sameNames(a: string[], b: string[]): boolean {
  const left = new Set(a.map((name) => name.toLowerCase()));
  const right = new Set(b.map((name) => name.toLowerCase()));
  return left.size === right.size && [...left].every((name) => right.has(name));
}

/**
 * ACM's idempotency token for a request of these names: a re-run within the hour (after a
 * Ctrl-C, say) gets the certificate already requested instead of a second one.
 */
export function certificateToken(names: string[]): string {
  return createHash("sha256").update([...names].sort().join(",")).digest("hex").slice(0, 32);
}

/**
 * A name with two labels (example.com) is the apex of its zone, where DNS allows no CNAME.
 * A guess for longer public suffixes (example.co.uk); only used to word advice.
 */
export function looksLikeApex(name: string): boolean {
  return name.split(".").length === 2;
}
