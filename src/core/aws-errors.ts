import { LampError } from "./errors.js";
import { awsTimeouts, awsTimeoutVariable, endpointOfError, operationOfError, timeoutOfError, type AwsSettings } from "./aws.js";

/**
 * Turns the SDK's errors into one readable line with a hint. Matches on names and codes,
 * not classes, so this module does not load the SDK.
 */
export function describeAwsError(error: unknown, settings: AwsSettings = {}): LampError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name = "", message = "" } = error as { name?: string; message?: string };
  const code = (error as { code?: string }).code ?? (error as { Code?: string }).Code ?? "";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    const tried = settings.profile
      ? `profile "${settings.profile}"`
      : "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials and ~/.aws/config, SSO and instance roles";
    return new LampError("credentials", `No AWS credentials found (tried ${tried}).`, "Run `aws configure` or `aws sso login`, or set AWS_PROFILE / --profile.", { cause: error });
  }
  if (/Region is missing/i.test(message)) {
    return new LampError("region", "No AWS region set.", 'Set "region" in lamp.json, pass --region, or set AWS_REGION (or a region in your AWS profile).', { cause: error });
  }
  if (["ExpiredToken", "ExpiredTokenException", "RequestExpired"].includes(name) || ["ExpiredToken"].includes(code)) {
    return new LampError("credentials", "Your AWS session token has expired.", "Refresh your credentials (e.g. `aws sso login`) and try again.", { cause: error });
  }
  if (["InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch"].includes(name)) {
    return new LampError("credentials", `AWS rejected the credentials: ${message || name}.`, "Check the access key / profile you are using.", { cause: error });
  }
  if (name === "AccessDenied" || name === "AccessDeniedException" || status === 403) {
    return new LampError("aws", `Access denied: ${message || name}.`, "The credentials in use lack a permission this command needs.", { cause: error });
  }
  const endpoint = (error as { [endpointOfError]?: string })[endpointOfError] ?? settings.endpointUrl;
  const where = endpoint ? ` at ${endpoint}` : "";
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  if (name === "TimeoutError" || code === "ETIMEDOUT") {
    const timeout = (error as { [timeoutOfError]?: number })[timeoutOfError] ?? settings.timeoutMs ?? awsTimeouts.responseMs;
    return new LampError(
      "aws",
      `No answer from AWS${where} (timed out${attempts ? ` ${attempts} time${attempts === 1 ? "" : "s"}` : ""}, ${timeout / 1000} s of silence each).`,
      settings.endpointUrl ? "Is the local endpoint running and answering?" : `Check your network connection; ${awsTimeoutVariable} sets the timeout in ms.`,
      { cause: error },
    );
  }
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET"].includes(code)) {
    return new LampError("aws", `Could not reach AWS${where} (${code}).`, settings.endpointUrl ? "Is the local endpoint running?" : "Check your network connection.", { cause: error });
  }
  const response = (error as { $response?: { statusCode?: number } }).$response;
  const unread = /inspect the hidden field|Deserialization error/i.test(message) || (["Unknown", "UnknownError"].includes(name) && /^(Unknown(Error)?)?$/.test(message));
  if (unread) {
    // The SDK could not read the answer (an HTML error page from a proxy, a truncated body): its own
    // message only points at SDK internals. The call, the endpoint and the status are what helps.
    const operation = (error as { [operationOfError]?: string })[operationOfError];
    const httpStatus = response?.statusCode ?? status;
    return new LampError(
      "aws",
      `AWS answered ${operation ?? "a call"}${where} with a response lamp could not read${httpStatus ? ` (HTTP ${httpStatus})` : ""}.`,
      settings.endpointUrl ? "Is the endpoint an AWS API (or an emulator of it)?" : "A proxy or firewall may be answering instead of AWS; try again, or run with --verbose.",
      { cause: error },
    );
  }
  if (typeof (error as { $metadata?: unknown }).$metadata === "object") {
    return new LampError("aws", `AWS error: ${name}${message ? `: ${message}` : ""}`, undefined, { cause: error });
  }
  return undefined;
}
