import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Checks an AWS Signature Version 4 (Authorization header) as AWS does, for lamp dev's stand-ins
 * of S3 and SES: a request PHP signed wrongly is refused here as it would be in Lambda. Pure.
 */

export interface SignedRequest {
  method: string;
  /** The path as sent (percent-encoded) and the raw query string. */
  path: string;
  query: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export type SignatureCheck = { ok: true; service: string } | { ok: false; code: string; message: string };

const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(raw: string): string {
  if (!raw) return "";
  return raw
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const equals = pair.indexOf("=");
      const name = decodeURIComponent((equals < 0 ? pair : pair.slice(0, equals)).replace(/\+/g, "%20"));
      const value = equals < 0 ? "" : decodeURIComponent(pair.slice(equals + 1).replace(/\+/g, "%20"));
      return [encode(name), encode(value)] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

export function checkSignature(request: SignedRequest, credentials: { accessKeyId: string; secretAccessKey: string }, region: string, now: number): SignatureCheck {
  const authorization = request.headers.authorization ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return { ok: false, code: "AccessDenied", message: "The request is not signed with AWS Signature Version 4." };
  const [, accessKey, date, scopeRegion, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKey !== credentials.accessKeyId) return { ok: false, code: "InvalidAccessKeyId", message: `The access key ${accessKey} does not exist.` };
  if (scopeRegion !== region) return { ok: false, code: "AuthorizationHeaderMalformed", message: `The region '${scopeRegion}' is wrong; expecting '${region}'.` };
  const amzDate = request.headers["x-amz-date"] ?? "";
  const time = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (!Number.isFinite(time) || !amzDate.startsWith(date!)) return { ok: false, code: "AccessDenied", message: "X-Amz-Date is missing or does not match the credential scope." };
  if (Math.abs(now - time) > 15 * 60 * 1000) return { ok: false, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large." };
  const names = signedHeaders!.split(";");
  if (!names.includes("host")) return { ok: false, code: "AccessDenied", message: "The signature must cover the Host header." };
  let payloadHash = request.headers["x-amz-content-sha256"];
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  if (payloadHash === undefined) payloadHash = bodyHash;
  else if (payloadHash !== "UNSIGNED-PAYLOAD" && payloadHash !== bodyHash) return { ok: false, code: "XAmzContentSHA256Mismatch", message: "The body's SHA-256 is not the one signed." };
  const canonicalHeaders = names.map((name) => `${name}:${(request.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonical = [request.method, request.path || "/", canonicalQuery(request.query), canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${scopeRegion}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`;
  let key: Buffer = createHmac("sha256", `AWS4${credentials.secretAccessKey}`).update(date!).digest();
  for (const part of [scopeRegion!, service!, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  const expected = createHmac("sha256", key).update(toSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, "hex"))) {
    return { ok: false, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided." };
  }
  return { ok: true, service: service! };
}
