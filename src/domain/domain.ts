import { formatSeconds } from "../core/clock.js";
import type { LampConfig } from "../project/config.js";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import {
  certificateRegion,
  describeCertificate,
  failureOf,
  findCertificate,
  requestCertificate,
  type Certificate,
} from "./certificate.js";
import {
  deleteAliasRecords,
  formatManualAliases,
  formatRecords,
  publicZones,
  upsertAliasRecords,
  upsertValidationRecords,
  zoneFor,
  type AliasOutcome,
  type Zone,
} from "./dns.js";
import { looksLikeApex, siteDomain, type SiteDomain } from "./names.js";

/** How often and how long lamp watches ACM; injected so tests run on a fake clock. */
export interface DomainPolling {
  intervalMs: number;
  /** ACM adds the validation records to a new request within seconds. */
  recordsTimeoutMs: number;
  /** How long one `lamp deploy` waits for validation before saying how to go on. */
  validationTimeoutMs: number;
}

const defaultPolling: DomainPolling = { intervalMs: 10_000, recordsTimeoutMs: 120_000, validationTimeoutMs: 30 * 60_000 };

/** The certificate the distribution gets, and where the names' DNS lives. */
export interface PreparedDomain {
  domain: SiteDomain;
  certificateArn: string;
  /** reused: an ISSUED one covered the names; validated: lamp waited for this one (requested now or earlier). */
  certificate: "reused" | "validated";
  zones: Zone[];
}

/** What a deploy did about the domain, for `--json`. */
export interface DomainReport {
  names: string[];
  certificateArn: string;
  certificate: PreparedDomain["certificate"];
  dns: AliasOutcome[];
}

/** How often a wait without a terminal prints that it is still waiting. */
const quietReportMs = 5 * 60_000;

const resume = "Run `lamp deploy` again to resume: it finds the same certificate and goes on waiting.";

/** Runs a step that may wait a long time, turning Ctrl-C into a message that says how to resume. */
async function resumable<T>(ctx: Context, main: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!ctx.signal.aborted || (error instanceof LampError && error.code !== "cancelled")) throw error;
    throw new LampError("cancelled", `Stopped waiting for the certificate for ${main}; nothing was deployed, and the certificate request stays in ACM.`, resume);
  }
}

async function waitFor(ctx: Context, arn: string, until: (certificate: Certificate) => boolean, timeoutMs: number, intervalMs: number, onPoll?: (certificate: Certificate, elapsedMs: number) => void): Promise<Certificate | undefined> {
  const started = ctx.clock.now();
  for (;;) {
    const certificate = await describeCertificate(ctx, arn);
    if (until(certificate)) return certificate;
    const elapsed = ctx.clock.now() - started;
    onPoll?.(certificate, elapsed);
    if (elapsed >= timeoutMs) return undefined;
    await ctx.clock.sleep(intervalMs, ctx.signal);
  }
}

/**
 * Before the stack deploy: an ISSUED certificate in us-east-1 for every name of lamp.json's
 * domain — one that exists, or one requested and validated now (through Route 53 when a zone
 * holds the names, otherwise through records the user adds). Undefined without a domain.
 */
export async function prepareDomain(ctx: Context, config: Pick<LampConfig, "domain">, polling: DomainPolling = defaultPolling): Promise<PreparedDomain | undefined> {
  const domain = siteDomain(config.domain);
  if (!domain) return undefined;
  const { ui } = ctx;
  const zones = await publicZones(ctx);
  const found = await findCertificate(ctx, domain);
  if (found?.kind === "issued") {
    ui.success(`Certificate for ${domain.names.join(", ")}: ${found.certificate.arn} (issued, reused)`);
    return { domain, certificateArn: found.certificate.arn, certificate: "reused", zones };
  }

  return resumable(ctx, domain.main, async () => {
    let arn: string;
    if (found) {
      arn = found.certificate.arn;
      ui.info(`Certificate for ${domain.names.join(", ")}: ${arn} is still waiting for validation; checking its DNS records.`);
    } else {
      arn = await requestCertificate(ctx, domain);
      ui.success(`Requested a certificate in ACM (${certificateRegion}) for ${domain.names.join(", ")}: ${arn}`);
    }
    const withRecords = await waitFor(ctx, arn, (certificate) => certificate.recordsReady || certificate.status !== "PENDING_VALIDATION", polling.recordsTimeoutMs, Math.min(polling.intervalMs, 2_000));
    if (!withRecords) {
      throw new LampError("aws", `ACM has not given the DNS validation records of ${arn} after ${formatSeconds(polling.recordsTimeoutMs)}.`, "Run `lamp deploy` again in a minute.");
    }
    if (withRecords.status === "ISSUED") return { domain, certificateArn: arn, certificate: "validated" as const, zones };
    if (withRecords.status !== "PENDING_VALIDATION") throw failureOf(withRecords, domain.main);

    const { written, manual } = await upsertValidationRecords(ctx, zones, withRecords.validation);
    if (written.length > 0) {
      const zoneNames = [...new Set(written.map((record) => zoneFor(zones, record.name)!.name))];
      ui.success(`Wrote ${written.length} validation record${written.length === 1 ? "" : "s"} in Route 53 (${zoneNames.join(", ")})`);
    }
    if (manual.length > 0) {
      ui.warn(`No Route 53 zone holds ${[...new Set(manual.flatMap((record) => record.names))].join(", ")}. Add ${manual.length === 1 ? "this DNS record" : "these DNS records"} at your DNS provider so ACM can validate the certificate:`);
      for (const line of formatRecords(manual)) ui.info(line);
      ui.info(`  Waiting for ACM to see ${manual.length === 1 ? "it" : "them"}. Ctrl-C stops waiting; \`lamp deploy\` run again goes on where this one stopped.`);
    }

    const label = `Waiting for ACM to validate the certificate for ${domain.main}`;
    const progress = ui.progress(label);
    let issued: Certificate | undefined;
    // Without a terminal the spinner is silent: a line every few minutes says lamp is still at it.
    let reported = 0;
    try {
      issued = await waitFor(ctx, arn, (certificate) => certificate.status !== "PENDING_VALIDATION", polling.validationTimeoutMs, polling.intervalMs, (certificate, elapsed) => {
        progress.update(`${label}: ${certificate.status} for ${formatSeconds(elapsed)}`);
        if (!ui.interactive && elapsed >= (reported + 1) * quietReportMs) {
          reported = Math.floor(elapsed / quietReportMs);
          ui.info(`  still ${certificate.status} after ${formatSeconds(elapsed)}`);
        }
      });
    } catch (error) {
      progress.fail(`${label}: stopped`);
      throw error;
    }
    if (!issued) {
      progress.fail(`${label}: still PENDING_VALIDATION after ${formatSeconds(polling.validationTimeoutMs)}`);
      const record = manual[0] ?? withRecords.validation[0];
      throw new LampError(
        "failed",
        `The certificate for ${domain.main} is still PENDING_VALIDATION after ${formatSeconds(polling.validationTimeoutMs)}: ACM has not seen its DNS records yet.`,
        `Check them${record ? ` (\`dig +short CNAME ${record.name}\` should print ${record.value})` : ""}; ACM keeps looking for 72 hours, and \`lamp deploy\` goes on waiting when run again.`,
      );
    }
    if (issued.status !== "ISSUED") {
      progress.fail(`${label}: ${issued.status}`);
      throw failureOf(issued, domain.main);
    }
    progress.done(`Certificate for ${domain.names.join(", ")} issued`);
    return { domain, certificateArn: arn, certificate: "validated" as const, zones };
  });
}

/**
 * After the stack deploy: the names point at the distribution — alias records written in
 * Route 53, or the records to add printed.
 */
async function publishDomain(ctx: Context, prepared: PreparedDomain, distributionDomainName: string | undefined): Promise<DomainReport> {
  const { domain, zones } = prepared;
  const report: DomainReport = { names: domain.names, certificateArn: prepared.certificateArn, certificate: prepared.certificate, dns: [] };
  if (!distributionDomainName) {
    ctx.ui.warn("The stack has no DistributionDomainName output: DNS records not written.");
    return report;
  }
  const outcomes = await upsertAliasRecords(ctx, zones, domain.names, distributionDomainName);
  report.dns = outcomes;
  for (const outcome of outcomes) {
    if (outcome.state !== "written") continue;
    ctx.ui.success(`${outcome.name} points at ${distributionDomainName} (A and AAAA alias records in ${outcome.zone})`);
    for (const old of outcome.replaced ?? []) ctx.ui.warn(`${outcome.name} was ${old} before.`);
  }
  const manual = outcomes.filter((outcome) => outcome.state === "manual").map((outcome) => outcome.name);
  if (manual.length > 0) {
    ctx.ui.warn(`No Route 53 zone holds ${manual.join(", ")}: point ${manual.length === 1 ? "it" : "them"} at CloudFront at your DNS provider:`);
    for (const line of formatManualAliases(manual, distributionDomainName)) ctx.ui.info(line);
    if (manual.some(looksLikeApex)) ctx.ui.info("  If your provider has no ALIAS or ANAME records, host the zone in Route 53 and lamp writes the records itself.");
  }
  return report;
}

/**
 * After a deploy (or a destroy) that dropped names: the alias records lamp wrote for them (those
 * pointing at this distribution, nothing else) are removed, since the distribution stopped
 * answering for them. A certificate no longer used stays: it may serve other sites, costs
 * nothing, and is renewed through its validation records, which stay too.
 */
export async function detachDomain(
  ctx: Context,
  dropped: { names: string[]; distributionDomainName?: string; zones?: Zone[] },
  unusedCertificateArn: string | undefined,
): Promise<string[]> {
  let removed: string[] = [];
  if (dropped.names.length > 0 && dropped.distributionDomainName) {
    removed = await deleteAliasRecords(ctx, dropped.zones ?? (await publicZones(ctx)), dropped.names, dropped.distributionDomainName);
  }
  if (dropped.names.length > 0) {
    ctx.ui.success(`The site no longer answers for ${dropped.names.join(", ")}${removed.length > 0 ? `; removed their alias records from Route 53 (${removed.join(", ")})` : ""}.`);
  }
  if (unusedCertificateArn) ctx.ui.info(`  The certificate ${unusedCertificateArn} stays in ACM (${certificateRegion}); delete it there if nothing else uses it.`);
  return removed;
}

/** The domain outputs of the stack before and after a deploy (src/project/stack-outputs' names). */
interface DomainOutputs {
  domainNames?: string;
  certificateArn?: string;
  distributionDomainName?: string;
}

/**
 * After a successful stack deploy: the names point at the distribution; names the stack answered
 * for before and no longer does (lamp.json's domain removed or changed) lose lamp's alias records.
 */
export async function settleDomain(ctx: Context, prepared: PreparedDomain | undefined, after: DomainOutputs, before: DomainOutputs): Promise<DomainReport | undefined> {
  const report = prepared ? await publishDomain(ctx, prepared, after.distributionDomainName) : undefined;
  const previous = before.domainNames?.split(",") ?? [];
  const current = after.domainNames?.split(",") ?? [];
  const dropped = previous.filter((name) => !current.includes(name));
  const unusedCertificate = before.certificateArn && before.certificateArn !== after.certificateArn ? before.certificateArn : undefined;
  if (dropped.length > 0 || unusedCertificate) {
    await detachDomain(ctx, { names: dropped, distributionDomainName: before.distributionDomainName ?? after.distributionDomainName, zones: prepared?.zones }, unusedCertificate);
  }
  return report;
}
