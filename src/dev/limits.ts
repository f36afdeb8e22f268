/**
 * The limits of the production request path, and the answers production gives when one is hit
 * (API Gateway HTTP API in front of a Lambda function).
 */

/** Lambda's synchronous invocation payload limit, for the event and for the response (bytes of JSON). */
export const lambdaPayloadLimit = 6 * 1024 * 1024 + 100;
/** HTTP API integration timeout: not adjustable. */
export const integrationTimeoutMs = 30_000;
/**
 * Bref's FPM runtime gives PHP the invocation's remaining time less one second (at least one
 * second), then restarts php-fpm and fails the invocation so that the logs still reach
 * CloudWatch (bref/bref src/FpmRuntime/FpmHandler.php, getRequestTimeoutInMs).
 */
const brefTimeoutMarginMs = 1_000;

/** How long PHP may run in production before Bref stops it, for a function Timeout. */
export function phpRunLimitMs(functionTimeoutMs: number): number {
  return Math.max(1_000, functionTimeoutMs - brefTimeoutMarginMs);
}

/**
 * HTTP API: "total combined size of request line and header values" (API Gateway quotas for HTTP
 * APIs): header names do not count.
 */
export const requestHeaderLimit = 10_240;
/**
 * CloudFront, in front of the API: "maximum length of a request, including headers and query
 * strings, but not including the body content" (CloudFront quotas). Names count here, so a flood of
 * short headers that API Gateway's count lets through stops at CloudFront.
 */
export const viewerRequestHeadLimit = 20_480;

export type LimitName = "request-payload" | "response-payload" | "timeout" | "function-timeout" | "request-headers" | "viewer-request-head";

export interface GatewayAnswer {
  statusCode: number;
  message: string;
}

/** What API Gateway sends back; the body is always `{"message":"..."}`. */
export const gatewayAnswers = {
  requestTooLarge: { statusCode: 413, message: "Request Entity Too Large" },
  headersTooLarge: { statusCode: 431, message: "Request Header Fields Too Large" },
  timeout: { statusCode: 503, message: "Service Unavailable" },
  lambdaError: { statusCode: 500, message: "Internal Server Error" },
} as const satisfies Record<string, GatewayAnswer>;

/** How the log line names each limit. */
export function describeLimit(limit: LimitName, actual?: number): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
  switch (limit) {
    case "request-payload":
      return `request over Lambda's 6 MB payload limit${actual ? ` (event ${mb(actual)}; binary bodies travel base64-encoded)` : ""}`;
    case "response-payload":
      return `response over Lambda's 6 MB payload limit${actual ? ` (${mb(actual)} as JSON)` : ""}`;
    case "timeout":
      return `request over API Gateway's ${actual ? actual / 1000 : 30} s integration timeout`;
    case "function-timeout":
      return (
        `PHP ran past ${actual ? actual / 1000 : 27} s: Bref stops PHP one second before the function's Timeout in template.yaml ` +
        "and the invocation fails (lamp dev replaced the worker)"
      );
    case "request-headers":
      return `request line + headers over API Gateway's 10,240-byte limit${actual ? ` (${actual.toLocaleString("en-US")} bytes)` : ""}`;
    case "viewer-request-head":
      return `request line + headers over CloudFront's 20,480-byte limit${actual ? ` (${actual.toLocaleString("en-US")} bytes with the header names)` : ""}`;
  }
}

/** The whole head as it travels: request line, each `name: value`, their line ends and the blank line. */
export function requestHeadSize(method: string, url: string, httpVersion: string, rawHeaders: readonly string[]): number {
  let size = method.length + url.length + httpVersion.length + 9; // two spaces, "HTTP/", CRLF
  for (let index = 0; index < rawHeaders.length; index += 2) size += rawHeaders[index]!.length + rawHeaders[index + 1]!.length + 4;
  return size + 2;
}

/** Request line plus header values, as API Gateway counts them. */
export function requestHeaderSize(method: string, url: string, httpVersion: string, rawHeaders: readonly string[]): number {
  // Node hands over request bytes as latin1 strings: one char per byte, so length is size.
  let size = method.length + url.length + httpVersion.length + 7; // "M U HTTP/1.1": two spaces and "HTTP/"
  for (let index = 1; index < rawHeaders.length; index += 2) size += rawHeaders[index]!.length;
  return size;
}
