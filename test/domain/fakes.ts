import { ACMClient, DescribeCertificateCommand, ListCertificatesCommand, RequestCertificateCommand, type RequestCertificateCommandInput } from "@aws-sdk/client-acm";
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { mockClient } from "aws-sdk-client-mock";

/**
 * A small Route 53: public and private zones, record sets keyed by name and type, UPSERT and
 * DELETE applied as the real service does (DELETE must match the record exactly).
 */
export function fakeRoute53(zones: { id: string; name: string; private?: boolean; nameServers?: string[] }[]) {
  const mock = mockClient(Route53Client);
  const records = new Map<string, ResourceRecordSet[]>(zones.map((zone) => [zone.id, []]));
  const changes: { zone: string; change: Change }[] = [];
  const fqdn = (name: string) => (name.endsWith(".") ? name : `${name}.`).replace(/^\*/, "\\052").toLowerCase();

  mock.on(ListHostedZonesCommand).callsFake(() => ({
    HostedZones: zones.map((zone) => ({ Id: `/hostedzone/${zone.id}`, Name: `${zone.name}.`, CallerReference: zone.id, Config: { PrivateZone: Boolean(zone.private) } })),
    IsTruncated: false,
  }));
  mock.on(GetHostedZoneCommand).callsFake((input) => {
    const zone = zones.find((candidate) => candidate.id === input.Id!.replace(/^\/hostedzone\//, ""));
    if (!zone) throw Object.assign(new Error(`No hosted zone found with ID: ${input.Id}`), { name: "NoSuchHostedZone" });
    const nameServers = zone.nameServers ?? [`ns-1.awsdns-${zone.id.toLowerCase()}.com`, `ns-2.awsdns-${zone.id.toLowerCase()}.net`];
    return { HostedZone: { Id: `/hostedzone/${zone.id}`, Name: `${zone.name}.`, CallerReference: zone.id }, DelegationSet: { NameServers: nameServers } };
  });
  mock.on(ListResourceRecordSetsCommand).callsFake((input) => {
    const start = fqdn(input.StartRecordName ?? "");
    const sets = [...(records.get(input.HostedZoneId!) ?? [])].sort((a, b) => a.Name!.localeCompare(b.Name!));
    return { ResourceRecordSets: sets.filter((set) => set.Name! >= start).slice(0, input.MaxItems ?? 100), IsTruncated: false, MaxItems: input.MaxItems };
  });
  mock.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
    const sets = records.get(input.HostedZoneId!);
    if (!sets) throw Object.assign(new Error(`No hosted zone found with ID: ${input.HostedZoneId}`), { name: "NoSuchHostedZone" });
    for (const change of input.ChangeBatch!.Changes!) {
      changes.push({ zone: input.HostedZoneId!, change });
      const set = { ...change.ResourceRecordSet!, Name: fqdn(change.ResourceRecordSet!.Name!) };
      const index = sets.findIndex((existing) => existing.Name === set.Name && existing.Type === set.Type);
      if (change.Action === "DELETE") {
        if (index < 0 || JSON.stringify(sets[index]) !== JSON.stringify(set)) {
          throw Object.assign(new Error(`Tried to delete resource record set [name='${set.Name}', type='${set.Type}'] but it was not found`), { name: "InvalidChangeBatch" });
        }
        sets.splice(index, 1);
      } else if (index >= 0) {
        sets[index] = set;
      } else {
        sets.push(set);
      }
    }
    return { ChangeInfo: { Id: "/change/C1", Status: "PENDING", SubmittedAt: new Date() } };
  });

  return {
    mock,
    changes,
    /** A record as it would be in the zone already (set up by hand, or by an earlier deploy). */
    put: (zone: string, set: ResourceRecordSet) => records.get(zone)!.push({ ...set, Name: fqdn(set.Name!) }),
    find: (zone: string, name: string, type: string) => records.get(zone)?.find((set) => set.Name === fqdn(name) && set.Type === type),
    all: (zone: string) => records.get(zone) ?? [],
  };
}

export interface FakeCertificate {
  arn: string;
  names: string[];
  status: string;
  failureReason?: string;
  notAfter?: Date;
  /** DescribeCertificate calls before ACM shows the validation records. */
  recordsAfter: number;
  /** How the names are validated; e-mail validation has no records. */
  method?: "DNS" | "EMAIL";
  describes: number;
}

/** The CNAME ACM asks for to validate `name` (a wildcard shares its base name's). */
export function validationRecordFor(name: string): { Name: string; Type: "CNAME"; Value: string } {
  const base = name.replace(/^\*\./, "");
  const token = base.replaceAll(".", "-");
  return { Name: `_v-${token}.${base}.`, Type: "CNAME", Value: `_t-${token}.acm-validations.aws.` };
}

/**
 * A small ACM in one region: certificates listed and described as the real one does, requests
 * idempotent by token, and a pending certificate validated on the describe after `validates()`
 * says its records are in place (by default: never).
 */
export function fakeAcm() {
  const mock = mockClient(ACMClient);
  const certificates: FakeCertificate[] = [];
  const requests: RequestCertificateCommandInput[] = [];
  const byToken = new Map<string, FakeCertificate>();
  let counter = 0;
  let validates: (certificate: FakeCertificate) => string | undefined = () => undefined;

  const add = (certificate: Partial<FakeCertificate> & { names: string[] }): FakeCertificate => {
    const made: FakeCertificate = { arn: `arn:aws:acm:us-east-1:123456789012:certificate/c-${++counter}`, status: "PENDING_VALIDATION", recordsAfter: 0, describes: 0, ...certificate };
    certificates.push(made);
    return made;
  };

  mock.on(ListCertificatesCommand).callsFake((input) => ({
    CertificateSummaryList: certificates
      .filter((certificate) => !input.CertificateStatuses || input.CertificateStatuses.includes(certificate.status as never))
      .map((certificate) => ({
        CertificateArn: certificate.arn,
        DomainName: certificate.names[0],
        SubjectAlternativeNameSummaries: certificate.names,
        HasAdditionalSubjectAlternativeNames: false,
        Status: certificate.status as never,
        NotAfter: certificate.notAfter,
      })),
  }));
  mock.on(RequestCertificateCommand).callsFake((input) => {
    requests.push(input);
    const known = input.IdempotencyToken ? byToken.get(input.IdempotencyToken) : undefined;
    if (known) return { CertificateArn: known.arn };
    const made = add({ names: input.SubjectAlternativeNames ?? [input.DomainName!], recordsAfter: 1 });
    if (input.IdempotencyToken) byToken.set(input.IdempotencyToken, made);
    return { CertificateArn: made.arn };
  });
  mock.on(DescribeCertificateCommand).callsFake((input) => {
    const certificate = certificates.find((candidate) => candidate.arn === input.CertificateArn);
    if (!certificate) throw Object.assign(new Error("Could not find certificate"), { name: "ResourceNotFoundException" });
    certificate.describes += 1;
    if (certificate.status === "PENDING_VALIDATION") {
      const outcome = validates(certificate);
      if (outcome) certificate.status = outcome;
    }
    const withRecords = certificate.describes > certificate.recordsAfter;
    return {
      Certificate: {
        CertificateArn: certificate.arn,
        DomainName: certificate.names[0],
        SubjectAlternativeNames: certificate.names,
        Status: certificate.status as never,
        FailureReason: certificate.failureReason as never,
        NotAfter: certificate.notAfter,
        DomainValidationOptions: certificate.names.map((name) => ({
          DomainName: name,
          ValidationMethod: certificate.method ?? "DNS",
          ValidationStatus: (certificate.status === "ISSUED" ? "SUCCESS" : "PENDING_VALIDATION") as never,
          ...(withRecords && certificate.method !== "EMAIL" ? { ResourceRecord: validationRecordFor(name) } : {}),
        })),
      },
    };
  });

  return {
    mock,
    certificates,
    requests,
    add,
    /** Decides, on each describe of a pending certificate, whether it is now ISSUED (or FAILED...). */
    validateWhen: (rule: (certificate: FakeCertificate) => string | undefined) => {
      validates = rule;
    },
  };
}
