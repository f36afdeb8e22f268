import {
  ACMClient,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  RequestCertificateCommand,
  type CertificateDetail,
  type CertificateSummary,
} from "@aws-sdk/client-acm";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import { certificateToken, coversAll, sameNames, type SiteDomain } from "./names.js";

/** CloudFront serves ACM certificates from this region only, whatever the stack's region. */
export const certificateRegion = "us-east-1";

/** A DNS record that proves control of one or more of the names (a wildcard shares its base name's). */
export interface ValidationRecord {
  name: string;
  type: string;
  value: string;
  /** The certificate names this record validates. */
  names: string[];
}

export interface Certificate {
  arn: string;
  status: string;
  names: string[];
  /** Filled in by ACM a few seconds after the request. */
  validation: ValidationRecord[];
  /** Every name has its validation record. */
  recordsReady: boolean;
  failureReason?: string;
  notAfter?: Date;
  /** Serves a CloudFront distribution or another resource already. */
  inUse: boolean;
  /** Validated through DNS records (not e-mail), so lamp can show or write what it needs. */
  dnsValidated: boolean;
}

function acmClient(ctx: Context): ACMClient {
  return ctx.aws.client(ACMClient, { pinnedRegion: certificateRegion });
}

function certificateOf(detail: CertificateDetail): Certificate {
  const options = detail.DomainValidationOptions ?? [];
  const records = new Map<string, ValidationRecord>();
  for (const option of options) {
    const record = option.ResourceRecord;
    if (!record?.Name || !record.Value) continue;
    const known = records.get(record.Name);
    if (known) known.names.push(option.DomainName!);
    else records.set(record.Name, { name: record.Name, type: record.Type ?? "CNAME", value: record.Value, names: [option.DomainName!] });
  }
  return {
    arn: detail.CertificateArn!,
    status: detail.Status ?? "UNKNOWN",
    names: detail.SubjectAlternativeNames ?? (detail.DomainName ? [detail.DomainName] : []),
    validation: [...records.values()],
    recordsReady: options.length > 0 && options.every((option) => option.ResourceRecord?.Name),
    failureReason: detail.FailureReason,
    notAfter: detail.NotAfter,
    inUse: (detail.InUseBy ?? []).length > 0,
    dnsValidated: options.every((option) => (option.ValidationMethod ?? "DNS") === "DNS"),
  };
}

export async function describeCertificate(ctx: Context, arn: string): Promise<Certificate> {
  const { Certificate: detail } = await acmClient(ctx).send(new DescribeCertificateCommand({ CertificateArn: arn }), { abortSignal: ctx.signal });
  if (!detail) throw new LampError("aws", `ACM returned nothing for the certificate ${arn}.`, "Run `lamp deploy` again.");
  return certificateOf(detail);
}

async function listCertificates(ctx: Context): Promise<CertificateSummary[]> {
  const summaries: CertificateSummary[] = [];
  let token: string | undefined;
  do {
    const page = await acmClient(ctx).send(
      new ListCertificatesCommand({
        CertificateStatuses: ["ISSUED", "PENDING_VALIDATION"],
        // Without Includes, ACM lists RSA 2048 keys only; CloudFront also serves ECDSA P-256 ones.
        Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] },
        NextToken: token,
      }),
      { abortSignal: ctx.signal },
    );
    summaries.push(...(page.CertificateSummaryList ?? []));
    token = page.NextToken;
  } while (token);
  return summaries;
}

export type FoundCertificate = { kind: "issued" | "pending"; certificate: Certificate };

/**
 * An ISSUED certificate that covers every name, else a certificate
 * for exactly these names still waiting for validation (an earlier run's request).
 */
export async function findCertificate(ctx: Context, domain: SiteDomain): Promise<FoundCertificate | undefined> {
  const summaries = await listCertificates(ctx);
  const issued: Certificate[] = [];
  let pending: Certificate | undefined;
  for (const summary of summaries) {
    const summaryNames = [summary.DomainName ?? "", ...(summary.SubjectAlternativeNameSummaries ?? [])];
    // The summary may list only some names; then only the full description can tell.
    const partial = Boolean(summary.HasAdditionalSubjectAlternativeNames);
    const mayServe = summary.Status === "ISSUED" && (partial || coversAll(summaryNames, domain.names));
    const mayBeOurs = summary.Status === "PENDING_VALIDATION" && (partial || sameNames(summaryNames, domain.names));
    if (!mayServe && !mayBeOurs) continue;
    // Described now: a pending certificate may have been issued since the listing.
    const certificate = await describeCertificate(ctx, summary.CertificateArn!);
    if (certificate.status === "ISSUED" && coversAll(certificate.names, domain.names)) issued.push(certificate);
    else if (certificate.status === "PENDING_VALIDATION" && certificate.dnsValidated && !pending && sameNames(certificate.names, domain.names)) pending = certificate;
  }
  // One in use first (most likely this site's own, so a deploy does not swap certificates for
  // nothing), then the one valid longest.
  issued.sort((a, b) => Number(b.inUse) - Number(a.inUse) || (b.notAfter?.getTime() ?? 0) - (a.notAfter?.getTime() ?? 0));
  if (issued[0]) return { kind: "issued", certificate: issued[0] };
  return pending ? { kind: "pending", certificate: pending } : undefined;
}

/** Requests a DNS-validated certificate for the names; the same names within the hour get the same request back. */
export async function requestCertificate(ctx: Context, domain: SiteDomain): Promise<string> {
  const request = new RequestCertificateCommand({
    DomainName: domain.main,
    SubjectAlternativeNames: domain.names,
    ValidationMethod: "DNS",
    IdempotencyToken: certificateToken(domain.names),
    Tags: [{ Key: "lamp:domain", Value: domain.main }],
  });
  let arn: string | undefined;
  try {
    ({ CertificateArn: arn } = await acmClient(ctx).send(request, { abortSignal: ctx.signal }));
  } catch (error) {
    if ((error as { name?: string }).name !== "LimitExceededException") throw error;
    throw new LampError(
      "limit",
      `ACM refused a certificate for ${domain.names.length} name${domain.names.length === 1 ? "" : "s"}: ${(error as Error).message}`,
      "ACM allows 10 names per certificate (and a yearly number of certificates) unless its quotas are raised in Service Quotas (us-east-1); a wildcard such as *.example.com counts as one name.",
      { cause: error },
    );
  }
  if (!arn) throw new LampError("aws", `ACM returned no certificate for ${domain.main}.`, "Run `lamp deploy` again.");
  return arn;
}

/** What a failed certificate's reason means, and what to do about it. */
export function failureOf(certificate: Certificate, main: string): LampError {
  const remove = `aws acm delete-certificate --certificate-arn ${certificate.arn} --region ${certificateRegion}`;
  if (certificate.status === "VALIDATION_TIMED_OUT") {
    return new LampError(
      "failed",
      `ACM gave up validating the certificate for ${main}: it did not find the DNS records within 72 hours.`,
      `Delete it (\`${remove}\`), run \`lamp deploy\` again and add the records it prints.`,
    );
  }
  if (certificate.failureReason === "CAA_ERROR") {
    return new LampError(
      "failed",
      `ACM could not issue the certificate for ${main}: the domain's CAA records do not allow Amazon to issue it.`,
      `Add a CAA record \`0 issue "amazon.com"\`, delete the failed certificate (\`${remove}\`), then run \`lamp deploy\` again.`,
    );
  }
  const reason = certificate.failureReason ? ` (${certificate.failureReason})` : "";
  return new LampError(
    "failed",
    `ACM could not issue the certificate for ${main}: ${certificate.status}${reason}.`,
    `See why in the ACM console (${certificateRegion}); delete it (\`${remove}\`) and run \`lamp deploy\` again.`,
  );
}
