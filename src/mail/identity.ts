import { CreateEmailIdentityCommand, GetAccountCommand, GetEmailIdentityCommand, SESv2Client, type GetEmailIdentityCommandOutput } from "@aws-sdk/client-sesv2";
import type { Context } from "../core/context.js";
import { LampError } from "../core/errors.js";
import type { LampConfig } from "../project/config.js";
import { formatRecords, publicZones, upsertRecords, zoneFor, type DnsRecord, type Zone } from "../domain/dns.js";

/**
 * After a deploy, lamp.json's mail.from gets what SES needs to send as it: a domain identity for
 * the address's domain in the stack's region (Easy DKIM), its three DKIM records written into the
 * Route 53 zone that holds the domain or printed to add by hand. An identity that exists is used
 * as it is and never deleted (other senders may rely on it; `lamp destroy` leaves it too).
 */

/** verified: SES sends as the domain; pending: SES is still looking for the DKIM records; failed: it gave up (72 hours). */
export type IdentityStatus = "verified" | "pending" | "failed";

export interface DkimRecord extends DnsRecord {
  /** written: lamp wrote it now; current: the zone had it already; manual: no zone holds it, printed. */
  state: "written" | "current" | "manual";
}

/** What a deploy did about mail.from, for `--json`. */
export interface MailIdentityReport {
  from: string;
  domain: string;
  region: string;
  identity: "created" | "reused";
  status: IdentityStatus;
  dkim: DkimRecord[];
  /** The Route 53 zone the DKIM records are in; absent when none holds the domain. */
  zone?: string;
  /** The account may only send to verified recipients (undefined: lamp may not ask SES). */
  sandbox?: boolean;
}

export function mailDomain(from: string): string {
  return from.slice(from.lastIndexOf("@") + 1).toLowerCase();
}

function ses(ctx: Context, region: string): SESv2Client {
  return ctx.aws.client(SESv2Client, { region });
}

const errorName = (error: unknown) => (error as { name?: string }).name;
const isDenied = (error: unknown) => ["AccessDenied", "AccessDeniedException"].includes(errorName(error) ?? "") || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403;

function statusOf(identity: GetEmailIdentityCommandOutput): IdentityStatus {
  if (identity.VerificationStatus === "SUCCESS" || (identity.VerificationStatus === undefined && identity.VerifiedForSendingStatus)) return "verified";
  return identity.VerificationStatus === "FAILED" ? "failed" : "pending";
}

/** The identity as SES has it, or undefined when there is none. */
async function getIdentity(ctx: Context, domain: string, region: string): Promise<GetEmailIdentityCommandOutput | undefined> {
  try {
    return await ses(ctx, region).send(new GetEmailIdentityCommand({ EmailIdentity: domain }), { abortSignal: ctx.signal });
  } catch (error) {
    if (errorName(error) === "NotFoundException") return undefined;
    throw error;
  }
}

/** The existing identity, or a new one with Easy DKIM (another deploy making it meanwhile is fine). */
async function ensureIdentity(ctx: Context, domain: string, region: string): Promise<{ identity: GetEmailIdentityCommandOutput; made: boolean }> {
  const existing = await getIdentity(ctx, domain, region);
  if (existing) return { identity: existing, made: false };
  try {
    await ses(ctx, region).send(new CreateEmailIdentityCommand({ EmailIdentity: domain }), { abortSignal: ctx.signal });
  } catch (error) {
    if (errorName(error) !== "AlreadyExistsException") throw error;
  }
  const made = await getIdentity(ctx, domain, region);
  if (!made) throw new LampError("aws", `SES did not show the identity ${domain} it was asked to create in ${region}.`, "Run `lamp deploy` again.");
  return { identity: made, made: true };
}

/** The CNAMEs Easy DKIM asks for: <token>._domainkey.<domain> → <token>.dkim.amazonses.com. */
function dkimRecords(domain: string, tokens: string[]): DnsRecord[] {
  return tokens.map((token) => ({ name: `${token}._domainkey.${domain}`, type: "CNAME", value: `${token}.dkim.amazonses.com` }));
}

/** Whether the account is still in the SES sandbox; undefined when lamp may not ask. */
async function inSandbox(ctx: Context, region: string): Promise<boolean | undefined> {
  try {
    const account = await ses(ctx, region).send(new GetAccountCommand({}), { abortSignal: ctx.signal });
    return account.ProductionAccessEnabled === undefined ? undefined : !account.ProductionAccessEnabled;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return undefined;
  }
}

function sandboxLine(region: string): string {
  return `SES sandbox: the account sends only to verified recipients until production access is requested: https://${region}.console.aws.amazon.com/ses/home?region=${region}#/account`;
}

/**
 * After a successful stack deploy, with lamp.json's mail.from: the SES domain identity and its
 * DKIM records (see the top of this file). Undefined without mail.from (and then no SES call).
 * `zones` are the public zones when the domain step listed them already.
 */
export async function settleMailIdentity(ctx: Context, config: Pick<LampConfig, "mail">, region: string, zones?: Zone[]): Promise<MailIdentityReport | undefined> {
  if (!config.mail) return undefined;
  const { from } = config.mail;
  const domain = mailDomain(from);
  let ensured: Awaited<ReturnType<typeof ensureIdentity>>;
  try {
    ensured = await ensureIdentity(ctx, domain, region);
  } catch (error) {
    if (!isDenied(error)) throw error;
    throw new LampError(
      "failed",
      `The site is deployed, but lamp may not read or create the SES identity ${domain} in ${region} (ses:GetEmailIdentity, ses:CreateEmailIdentity), so mail from ${from} cannot be sent yet.`,
      "Run `lamp deploy` with credentials that allow them, or create the domain identity in the SES console.",
    );
  }
  const { identity, made } = ensured;
  const status = statusOf(identity);
  const report: MailIdentityReport = { from, domain, region, identity: made ? "created" : "reused", status, dkim: [] };
  if (made) ctx.ui.success(`Created the SES identity ${domain} in ${region} (Easy DKIM)`);
  const tokens = identity.DkimAttributes?.SigningAttributesOrigin === "EXTERNAL" ? [] : (identity.DkimAttributes?.Tokens ?? []);
  if (tokens.length > 0) {
    const known = zones ?? (await publicZones(ctx));
    const records = dkimRecords(domain, tokens);
    const { written, current, manual } = await upsertRecords(ctx, known, records, "lamp: SES DKIM for mail.from", { skipCurrent: true });
    const stateOf = (record: DnsRecord): DkimRecord["state"] => (written.includes(record) ? "written" : current.includes(record) ? "current" : "manual");
    report.dkim = records.map((record) => ({ ...record, state: stateOf(record) }));
    const zone = zoneFor(known, domain);
    if (zone) report.zone = zone.name;
    if (written.length > 0) ctx.ui.success(`Wrote ${domain}'s ${written.length} DKIM records for SES in Route 53 (${zone!.name})`);
    if (manual.length > 0 && status !== "verified") {
      ctx.ui.warn(`No Route 53 zone holds ${domain}. Add these DNS records at your DNS provider so SES can verify it and send as ${from}:`);
      for (const line of formatRecords(manual)) ctx.ui.info(line);
    }
  }
  reportStatus(ctx, report);
  report.sandbox = await inSandbox(ctx, region);
  if (report.sandbox !== false) ctx.ui.info(`  ${sandboxLine(region)}`);
  return report;
}

function reportStatus(ctx: Context, report: MailIdentityReport): void {
  const { domain, from, region } = report;
  if (report.status === "verified") ctx.ui.success(`Mail from ${from}: SES identity ${domain} is verified`);
  else if (report.status === "pending") ctx.ui.info(`Mail from ${from}: SES identity ${domain} is pending verification (usually minutes after the DKIM records are in DNS); mail is not delivered until it is verified. \`lamp info\` shows its status.`);
  else {
    ctx.ui.warn(
      `Mail from ${from}: SES stopped trying to verify ${domain} (its DKIM records were not found within 72 hours); mail is not delivered. ` +
        `Check the records (\`dig +short CNAME ${report.dkim[0]?.name ?? `<token>._domainkey.${domain}`}\`), then restart verification in the SES console (${region}).`,
    );
  }
}

/** For `lamp info`: the identity's status now, without creating anything; "missing" when SES has none. */
export async function mailIdentityStatus(ctx: Context, config: Pick<LampConfig, "mail">, region: string): Promise<{ from: string; domain: string; status: IdentityStatus | "missing" | string } | undefined> {
  if (!config.mail) return undefined;
  const { from } = config.mail;
  const domain = mailDomain(from);
  try {
    const identity = await getIdentity(ctx, domain, region);
    return { from, domain, status: identity ? statusOf(identity) : "missing" };
  } catch (error) {
    // The stack's status matters more: say what SES answered, and go on.
    if (ctx.signal.aborted) throw error;
    return { from, domain, status: `unknown (${errorName(error) ?? "error"})` };
  }
}

export function formatMailStatus(mail: { from: string; domain: string; status: string }): string {
  const meaning: Record<string, string> = {
    verified: "verified",
    pending: "pending: mail is not delivered until SES verifies the domain",
    failed: "failed: SES could not find the DKIM records; mail is not delivered",
    missing: "no SES identity: `lamp deploy` creates it",
  };
  return `${"Mail".padEnd(10)} ${mail.from} (SES identity ${mail.domain}: ${meaning[mail.status] ?? mail.status})`;
}
