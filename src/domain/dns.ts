import { resolveNs } from "node:dns/promises";
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type HostedZone,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import type { ValidationRecord } from "./certificate.js";
import { looksLikeApex } from "./names.js";
import { cloudFrontHostedZoneId } from "./apply-domain.js";

/** A public Route 53 hosted zone: its id without the /hostedzone/ prefix, its name without the root dot. */
export interface Zone {
  id: string;
  name: string;
}

/** Route 53 is global; its API is signed for us-east-1. */
function route53(ctx: Context): Route53Client {
  return ctx.aws.client(Route53Client, { pinnedRegion: "us-east-1" });
}

/** Route 53 writes names fully qualified, with `*` as \052. */
function plainName(name: string): string {
  return name.replace(/\\052/g, "*").replace(/\.$/, "").toLowerCase();
}

/**
 * The account's public zones. Without permission to list them, none: lamp then prints the
 * records to add instead of writing them, which works whatever hosts the DNS.
 */
export async function publicZones(ctx: Context, lookupNs: (name: string) => Promise<string[]> = resolveNs): Promise<Zone[]> {
  let zones: Zone[];
  try {
    zones = await listPublicZones(ctx);
  } catch (error) {
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (ctx.signal.aborted || !(name === "AccessDenied" || name === "AccessDeniedException" || $metadata?.httpStatusCode === 403)) throw error;
    ctx.ui.warn("Not allowed to list Route 53 hosted zones (route53:ListHostedZones): lamp prints the DNS records to add instead of writing them.");
    return [];
  }
  return withoutTwins(ctx, zones, lookupNs);
}

/**
 * Two public zones of one name (a zone made again, the old one kept): only the one the parent
 * zone delegates to answers on the internet, and records written into the other are never seen
 * (certificate validation would wait its full 30 minutes). The delegated one is kept, found by
 * comparing the name's public NS records with each zone's name servers; when that cannot tell,
 * lamp stops and names both.
 */
async function withoutTwins(ctx: Context, zones: Zone[], lookupNs: (name: string) => Promise<string[]>): Promise<Zone[]> {
  const byName = new Map<string, Zone[]>();
  for (const zone of zones) byName.set(zone.name, [...(byName.get(zone.name) ?? []), zone]);
  const kept: Zone[] = [];
  for (const [name, twins] of byName) {
    if (twins.length === 1) {
      kept.push(twins[0]!);
      continue;
    }
    const normalize = (server: string) => server.replace(/\.$/, "").toLowerCase();
    const delegatedTo = new Set((await lookupNs(name).catch(() => [] as string[])).map(normalize));
    const delegated: Zone[] = [];
    for (const zone of twins) {
      const { DelegationSet } = await route53(ctx).send(new GetHostedZoneCommand({ Id: zone.id }), { abortSignal: ctx.signal });
      if ((DelegationSet?.NameServers ?? []).some((server) => delegatedTo.has(normalize(server)))) delegated.push(zone);
    }
    if (delegated.length !== 1) {
      throw new LampError(
        "config",
        `Route 53 has ${twins.length} public zones named ${name} (${twins.map((zone) => zone.id).join(", ")}), and lamp cannot tell which one ${name}'s registrar delegates to.`,
        `Delete the zone that is not in use (compare its NS records with \`dig NS ${name}\`), then run \`lamp deploy\` again.`,
      );
    }
    ctx.ui.info(`Route 53 has ${twins.length} public zones named ${name}: using ${delegated[0]!.id}, the one ${name} is delegated to.`);
    kept.push(delegated[0]!);
  }
  return kept;
}

async function listPublicZones(ctx: Context): Promise<Zone[]> {
  const zones: Zone[] = [];
  let marker: string | undefined;
  do {
    const page = await route53(ctx).send(new ListHostedZonesCommand({ Marker: marker }), { abortSignal: ctx.signal });
    for (const zone of page.HostedZones ?? ([] as HostedZone[])) {
      if (zone.Config?.PrivateZone) continue;
      zones.push({ id: zone.Id!.replace(/^\/hostedzone\//, ""), name: plainName(zone.Name!) });
    }
    marker = page.IsTruncated ? page.NextMarker : undefined;
  } while (marker);
  return zones;
}

/** The zone that answers for `name`: the longest public zone it is in (a delegated sub-zone beats its parent). */
export function zoneFor(zones: Zone[], name: string): Zone | undefined {
  const host = plainName(name);
  return zones
    .filter((zone) => host === zone.name || host.endsWith(`.${zone.name}`))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

async function change(ctx: Context, zone: Zone, changes: Change[], comment: string): Promise<void> {
  await route53(ctx).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone.id, ChangeBatch: { Comment: comment, Changes: changes } }), { abortSignal: ctx.signal });
}

/** A record to write or print: its name, type and one value (a CNAME's target). */
export interface DnsRecord {
  name: string;
  type: string;
  value: string;
}

/** Writes the certificate's validation records into their zones; returns the records that have none. */
export async function upsertValidationRecords(ctx: Context, zones: Zone[], records: ValidationRecord[]): Promise<{ written: ValidationRecord[]; manual: ValidationRecord[] }> {
  const { manual } = await upsertRecords(ctx, zones, records, "lamp: ACM certificate validation", { skipCurrent: false });
  return { written: records.filter((record) => !manual.includes(record)), manual };
}

/**
 * Writes records into the zones that hold their names (one change batch per zone) and returns
 * those with no zone, to print. With skipCurrent, a record the zone already has with this value
 * is left alone, so running again changes nothing.
 */
export async function upsertRecords<R extends DnsRecord>(
  ctx: Context,
  zones: Zone[],
  records: R[],
  comment: string,
  { skipCurrent }: { skipCurrent: boolean },
): Promise<{ written: R[]; current: R[]; manual: R[] }> {
  const byZone = new Map<string, { zone: Zone; records: R[] }>();
  const manual: R[] = [];
  const current: R[] = [];
  for (const record of records) {
    const zone = zoneFor(zones, record.name);
    if (!zone) {
      manual.push(record);
      continue;
    }
    if (skipCurrent && (await hasRecord(ctx, zone, record))) {
      current.push(record);
      continue;
    }
    const group = byZone.get(zone.id) ?? { zone, records: [] };
    group.records.push(record);
    byZone.set(zone.id, group);
  }
  for (const { zone, records: inZone } of byZone.values()) {
    await change(
      ctx,
      zone,
      inZone.map((record) => ({ Action: "UPSERT", ResourceRecordSet: { Name: record.name, Type: record.type as "CNAME", TTL: 300, ResourceRecords: [{ Value: record.value }] } })),
      comment,
    );
  }
  const written = [...byZone.values()].flatMap((group) => group.records);
  return { written, current, manual };
}

/** The zone has `record` at its name, of its type, with exactly its value. */
async function hasRecord(ctx: Context, zone: Zone, record: DnsRecord): Promise<boolean> {
  const name = plainName(record.name);
  const page = await route53(ctx).send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: name, StartRecordType: record.type as "CNAME", MaxItems: 1 }), { abortSignal: ctx.signal });
  const set = page.ResourceRecordSets?.[0];
  if (!set || plainName(set.Name ?? "") !== name || set.Type !== record.type) return false;
  const values = (set.ResourceRecords ?? []).map((value) => plainName(value.Value ?? ""));
  return values.length === 1 && values[0] === plainName(record.value);
}

/** Zone-file lines for records to add by hand: copy-pasteable into most DNS providers' import. */
export function formatRecords(records: DnsRecord[]): string[] {
  const width = Math.max(...records.map((record) => fqdn(record.name).length));
  return records.map((record) => `  ${fqdn(record.name).padEnd(width)}  300  IN  ${record.type}  ${fqdn(record.value)}`);
}

function fqdn(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/** The A/AAAA/CNAME records at `name` in `zone`. */
async function recordsAt(ctx: Context, zone: Zone, name: string): Promise<ResourceRecordSet[]> {
  const page = await route53(ctx).send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: name, MaxItems: 10 }), { abortSignal: ctx.signal });
  return (page.ResourceRecordSets ?? []).filter((set) => plainName(set.Name ?? "") === name && ["A", "AAAA", "CNAME"].includes(set.Type ?? ""));
}

const pointsAt = (set: ResourceRecordSet, target: string) =>
  set.AliasTarget?.HostedZoneId === cloudFrontHostedZoneId && plainName(set.AliasTarget.DNSName ?? "") === plainName(target);

function describeRecord(set: ResourceRecordSet): string {
  if (set.AliasTarget) return `an alias to ${plainName(set.AliasTarget.DNSName ?? "")}`;
  return (set.ResourceRecords ?? []).map((record) => record.Value).join(", ") || "(no value)";
}

/**
 * A/AAAA aliases to another CloudFront distribution: another site (or another stack) is reached at
 * that name today, and replacing them takes it off the internet. Asked at a terminal; otherwise
 * only --yes replaces them.
 */
async function confirmTakeOver(ctx: Context, planned: { name: string; existing: ResourceRecordSet[] }[], distributionDomainName: string): Promise<void> {
  const taken = planned.flatMap(({ name, existing }) => {
    const other = existing.find((set) => (set.Type === "A" || set.Type === "AAAA") && set.AliasTarget?.HostedZoneId === cloudFrontHostedZoneId && !pointsAt(set, distributionDomainName));
    return other ? [`${name} (an alias to ${plainName(other.AliasTarget!.DNSName ?? "")})`] : [];
  });
  if (taken.length === 0 || ctx.yes) return;
  const what = taken.join(", ");
  const refusal = new LampError(
    "failed",
    `The site is deployed, but ${what} already point${taken.length === 1 ? "s" : ""} at another CloudFront distribution, so lamp did not replace ${taken.length === 1 ? "it" : "them"}.`,
    "If this site should take the name over, run `lamp deploy --yes`; otherwise take it out of lamp.json's domain.",
  );
  if (!ctx.ui.interactive) throw refusal;
  const confirmed = await ctx.prompt.confirm({ message: `${what} point${taken.length === 1 ? "s" : ""} at another CloudFront distribution. Point ${taken.length === 1 ? "it" : "them"} at this site instead?`, flag: "--yes", initialValue: false });
  if (!confirmed) throw refusal;
}

export interface AliasOutcome {
  name: string;
  zone?: string;
  /** written: lamp made or changed the records; current: they already pointed here; manual: no zone. */
  state: "written" | "current" | "manual";
  /** What the A/AAAA records said before lamp changed them. */
  replaced?: string[];
}

/**
 * Points each name that has a zone at the distribution with A and AAAA alias records, and
 * reports the others. A CNAME at a name is never replaced: DNS allows nothing beside it, and
 * it may be the way the site is reached today.
 */
export async function upsertAliasRecords(ctx: Context, zones: Zone[], names: string[], distributionDomainName: string): Promise<AliasOutcome[]> {
  const planned: { name: string; zone?: Zone; existing: ResourceRecordSet[] }[] = [];
  for (const name of names) {
    const zone = zoneFor(zones, name);
    planned.push({ name, zone, existing: zone ? await recordsAt(ctx, zone, name) : [] });
  }
  // Checked for every name before any is written, so a conflict leaves the zones as they were.
  await confirmTakeOver(ctx, planned, distributionDomainName);
  for (const { name, zone, existing } of planned) {
    const cname = existing.find((set) => set.Type === "CNAME");
    if (cname) {
      throw new LampError(
        "failed",
        `The site is deployed, but ${name} has a CNAME record (to ${describeRecord(cname)}) in Route 53, so lamp did not point it at CloudFront.`,
        `Delete that CNAME in the ${zone!.name} zone, then run \`lamp deploy\` again.`,
      );
    }
  }
  const outcomes: AliasOutcome[] = [];
  for (const { name, zone, existing } of planned) {
    if (!zone) {
      outcomes.push({ name, state: "manual" });
      continue;
    }
    const addresses = existing.filter((set) => set.Type === "A" || set.Type === "AAAA");
    if (addresses.length === 2 && addresses.every((set) => pointsAt(set, distributionDomainName))) {
      outcomes.push({ name, zone: zone.name, state: "current" });
      continue;
    }
    const replaced = addresses.filter((set) => !pointsAt(set, distributionDomainName)).map((set) => `${set.Type} ${describeRecord(set)}`);
    await change(
      ctx,
      zone,
      (["A", "AAAA"] as const).map((type) => ({
        Action: "UPSERT",
        ResourceRecordSet: { Name: name, Type: type, AliasTarget: { HostedZoneId: cloudFrontHostedZoneId, DNSName: distributionDomainName, EvaluateTargetHealth: false } },
      })),
      "lamp: the site's custom domain",
    );
    outcomes.push({ name, zone: zone.name, state: "written", ...(replaced.length > 0 ? { replaced } : {}) });
  }
  return outcomes;
}

/**
 * Removes the A/AAAA alias records of `names` that point at this distribution (and only those):
 * once the distribution no longer answers for a name, they lead nowhere.
 */
export async function deleteAliasRecords(ctx: Context, zones: Zone[], names: string[], distributionDomainName: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    const zone = zoneFor(zones, name);
    if (!zone) continue;
    const ours = (await recordsAt(ctx, zone, name)).filter((set) => (set.Type === "A" || set.Type === "AAAA") && pointsAt(set, distributionDomainName));
    if (ours.length === 0) continue;
    await change(ctx, zone, ours.map((set) => ({ Action: "DELETE", ResourceRecordSet: set })), "lamp: custom domain removed from lamp.json");
    removed.push(name);
  }
  return removed;
}

/** What to add by hand to point names at the distribution; an apex can only take ALIAS/ANAME records. */
export function formatManualAliases(names: string[], distributionDomainName: string): string[] {
  const width = Math.max(...names.map((name) => fqdn(name).length));
  return names.map((name) =>
    looksLikeApex(name)
      ? `  ${fqdn(name).padEnd(width)}  300  IN  ALIAS  ${fqdn(distributionDomainName)}   ; an apex takes no CNAME: your provider's ALIAS or ANAME record`
      : `  ${fqdn(name).padEnd(width)}  300  IN  CNAME  ${fqdn(distributionDomainName)}`,
  );
}
