import { createHash, createHmac } from "node:crypto";
import http from "node:http";
import https from "node:https";

/**
 * Lambda's Invoke, spoken directly over HTTPS (POST /2015-03-31/functions/<name>/invocations,
 * signed with Signature Version 4): lamp needs this one call, with a socket that may stay silent
 * for the function's whole timeout (15 minutes) — longer than any SDK default lets a call wait.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface InvokeRequest {
  endpoint: string;
  region: string;
  functionName: string;
  /** The event, as JSON text. */
  payload: string;
  credentials: Credentials;
  /** How long the answer may take: the function's timeout plus a margin. */
  timeoutMs: number;
  signal: AbortSignal;
  now: number;
}

export interface InvokeResponse {
  statusCode: number;
  requestId?: string;
  /** `Unhandled` when the function threw (a Bref console command that exited non-zero). */
  functionError?: string;
  /** The last 4 KB of the invocation's log (LogType Tail), decoded. */
  logResult?: string;
  payload: string;
}

const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
const sha256 = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");

/** The Authorization header and its companions for one request (AWS Signature Version 4). Pure. */
export function signRequest(options: { method: string; url: URL; headers: Record<string, string>; body: string; region: string; service: string; credentials: Credentials; now: number }): Record<string, string> {
  const amzDate = new Date(options.now).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...options.headers, host: options.url.host, "x-amz-date": amzDate, "x-amz-content-sha256": sha256(options.body) };
  if (options.credentials.sessionToken) headers["x-amz-security-token"] = options.credentials.sessionToken;
  const names = Object.keys(headers).map((name) => name.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value.trim()]));
  const canonicalPath = options.url.pathname.split("/").map((segment) => encodeURIComponent(decodeURIComponent(segment))).join("/");
  const query = [...options.url.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&");
  const canonical = [options.method, canonicalPath, query, ...names.map((name) => `${name}:${lower[name]}`), "", names.join(";"), headers["x-amz-content-sha256"]].join("\n");
  const scope = `${day}/${options.region}/${options.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, day), options.region), options.service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign, "utf8").digest("hex");
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}` };
}

/** One synchronous invocation; rejects with the abort reason on Ctrl-C, with an Error on a network failure. */
export function invoke(request: InvokeRequest): Promise<InvokeResponse> {
  const url = new URL(`${request.endpoint.replace(/\/+$/, "")}/2015-03-31/functions/${encodeURIComponent(request.functionName)}/invocations`);
  const headers = signRequest({
    method: "POST",
    url,
    headers: { "content-type": "application/json", "x-amz-invocation-type": "RequestResponse", "x-amz-log-type": "Tail" },
    body: request.payload,
    region: request.region,
    service: "lambda",
    credentials: request.credentials,
    now: request.now,
  });
  const transport = url.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(request.payload)) }, signal: request.signal, timeout: request.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const header = (name: string) => {
          const value = res.headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        const log = header("x-amz-log-result");
        resolve({
          statusCode: res.statusCode ?? 0,
          requestId: header("x-amzn-requestid") ?? header("x-amz-request-id"),
          functionError: header("x-amz-function-error"),
          logResult: log ? Buffer.from(log, "base64").toString("utf8") : undefined,
          payload: Buffer.concat(chunks).toString("utf8"),
        });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from Lambda within ${Math.round(request.timeoutMs / 1000)} s`)));
    req.on("error", (error) => reject(request.signal.aborted ? request.signal.reason : error));
    req.end(request.payload);
  });
}
