import { CreateEmailIdentityCommand, GetAccountCommand, GetEmailIdentityCommand, SESv2Client, type VerificationStatus } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";

export interface FakeIdentity {
  name: string;
  region: string;
  tokens: string[];
  status: VerificationStatus;
}

/**
 * A small SES (v2): identities per region, created with three Easy DKIM tokens, answered as the
 * real service does (NotFoundException for an unknown one, AlreadyExistsException for a duplicate).
 */
export function fakeSes(options: { productionAccess?: boolean } = {}) {
  const mock = mockClient(SESv2Client);
  const identities: FakeIdentity[] = [];
  const created: { name: string; region: string }[] = [];
  // The region the client was made for: SES identities are regional.
  const regionOf = async (client: SESv2Client) => client.config.region();
  mock.on(GetEmailIdentityCommand).callsFake(async (input, getClient) => {
    const region = await regionOf(getClient() as SESv2Client);
    const identity = identities.find((candidate) => candidate.name === input.EmailIdentity && candidate.region === region);
    if (!identity) throw Object.assign(new Error(`Email identity ${input.EmailIdentity} does not exist.`), { name: "NotFoundException" });
    return {
      IdentityType: "DOMAIN",
      VerifiedForSendingStatus: identity.status === "SUCCESS",
      VerificationStatus: identity.status,
      DkimAttributes: { SigningEnabled: true, Status: identity.status, Tokens: identity.tokens, SigningAttributesOrigin: "AWS_SES" },
    };
  });
  mock.on(CreateEmailIdentityCommand).callsFake(async (input, getClient) => {
    const region = await regionOf(getClient() as SESv2Client);
    if (identities.some((candidate) => candidate.name === input.EmailIdentity && candidate.region === region)) {
      throw Object.assign(new Error(`Email identity ${input.EmailIdentity} already exist.`), { name: "AlreadyExistsException" });
    }
    created.push({ name: input.EmailIdentity!, region });
    const tokens = [1, 2, 3].map((n) => `tok${n}${input.EmailIdentity!.replaceAll(".", "")}`);
    identities.push({ name: input.EmailIdentity!, region, tokens, status: "PENDING" });
    return { IdentityType: "DOMAIN", VerifiedForSendingStatus: false, DkimAttributes: { SigningEnabled: true, Status: "PENDING", Tokens: tokens } };
  });
  mock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: options.productionAccess ?? false });
  return { mock, identities, created };
}
