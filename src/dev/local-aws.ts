import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { contentTypeFor } from "../assets/media.js";
import type { LampConfig } from "../project/config.js";
import { mailFromVariable } from "../mail/apply-mail.js";
import { uploadsKeyPrefix } from "../wordpress/files.js";
import { uploadsBucketVariable } from "../wordpress/apply-wordpress.js";
import { checkSignature } from "./sigv4.js";

/**
 * lamp dev's stand-ins for the AWS services the function calls from PHP (lamp/aws.php): the stack's
 * bucket (path-style S3: PUT, GET, HEAD, DELETE, ListObjectsV2) kept in .lamp/bucket/, and SES's
 * SendEmail, which keeps each message in .lamp/mail/ and sends nothing. Each request must carry a
 * valid SigV4 signature of the keys lamp dev gives PHP, and may do what the function's role may do
 * in AWS (the bucket's wp-content/uploads/ prefix; mail as mail.from): what fails there fails here.
 */

export interface LocalAwsOptions {
  /** The project's .lamp folder. */
  stateDir: string;
  region: string;
  /** The bucket's name PHP uses, and the key prefix the function may touch (IAM in AWS). */
  bucket: string;
  writablePrefix: string;
  /** lamp.json's mail.from; undefined: caught here, not sent in Lambda. */
  mailFrom?: string;
  now(): number;
  /** One line per caught message. */
  onMail(line: string): void;
  onProblem(line: string): void;
}

export interface LocalAws {
  /** The variables that point PHP's AWS client at these stand-ins. */
  environment: Record<string, string>;
  /** Where the bucket's objects are: a key is a path under it. */
  bucketDir: string;
  mailDir: string;
  close(): Promise<void>;
}

const maxBody = 64 * 1024 * 1024;
const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);

function s3Error(response: ServerResponse, status: number, code: string, message: string, method: string): void {
  response.writeHead(status, { "Content-Type": "application/xml" });
  response.end(method === "HEAD" ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A key as a path under the bucket folder, or undefined when it cannot be one (`..`, empty segments). */
function keyPath(bucketDir: string, key: string): string | undefined {
  const segments = key.split("/");
  if (key === "" || segments.some((segment) => segment === "" || segment === "." || segment === ".." || segment.includes("\0"))) return undefined;
  return path.join(bucketDir, ...segments);
}

async function listKeys(dir: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const walk = async (folder: string, base: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const key = base ? `${base}/${entry.name}` : entry.name;
      if (entry.name.startsWith(".lamp-part-")) continue;
      if (entry.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await walk(path.join(folder, entry.name), key);
      } else if (key.startsWith(prefix)) {
        keys.push(key);
      }
    }
  };
  await walk(dir, "");
  return keys.sort();
}

/** What the stand-ins share while they run. */
interface StandIn {
  options: LocalAwsOptions;
  bucketDir: string;
  mailDir: string;
  mailCount: number;
}

/** ListObjectsV2, as far as lamp/aws.php uses it: a prefix (within what the role may list), a delimiter, max-keys. */
async function listObjects(state: StandIn, response: ServerResponse, query: URLSearchParams, method: string): Promise<void> {
  const { options } = state;
  const prefix = query.get("prefix") ?? "";
  if (!prefix.startsWith(options.writablePrefix)) return s3Error(response, 403, "AccessDenied", `The function may list ${options.writablePrefix}* only.`, method);
  const delimiter = query.get("delimiter") ?? "";
  const max = Math.min(Number(query.get("max-keys") ?? 1000) || 1000, 1000);
  const keys: string[] = [];
  const prefixes = new Set<string>();
  for (const found of await listKeys(state.bucketDir, prefix)) {
    const folder = delimiter ? found.indexOf(delimiter, prefix.length) : -1;
    if (folder >= 0) prefixes.add(found.slice(0, folder + delimiter.length));
    else keys.push(found);
  }
  const contents = keys.slice(0, max).map((found) => `<Contents><Key>${xmlEscape(found)}</Key></Contents>`).join("");
  const common = [...prefixes].map((found) => `<CommonPrefixes><Prefix>${xmlEscape(found)}</Prefix></CommonPrefixes>`).join("");
  response.writeHead(200, { "Content-Type": "application/xml" });
  response.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${options.bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${Math.min(keys.length, max)}</KeyCount><IsTruncated>false</IsTruncated>${contents}${common}</ListBucketResult>`);
}

/** One object: PUT (whole), DELETE, GET, HEAD, within the prefix the function's role may use. */
async function serveObject(state: StandIn, response: ServerResponse, method: string, key: string, query: URLSearchParams, body: Buffer): Promise<void> {
  const { options } = state;
  if (!key.startsWith(options.writablePrefix)) return s3Error(response, 403, "AccessDenied", `The function may use ${options.writablePrefix}* only (its IAM policy in AWS).`, method);
  const file = keyPath(state.bucketDir, key);
  if (!file) return s3Error(response, 400, "InvalidArgument", "lamp dev's bucket stand-in keeps keys as file paths: no empty, . or .. segments.", method);
  if (query.has("uploads") || query.has("uploadId")) {
    return s3Error(response, 501, "NotImplemented", "lamp dev's bucket stand-in takes objects in one PUT (Lambda's 6 MB request limit keeps uploads far below the multipart size).", method);
  }
  if (method === "PUT") {
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = path.join(path.dirname(file), `.lamp-part-${randomBytes(6).toString("hex")}`);
    await writeFile(temporary, body);
    await rename(temporary, file);
    response.writeHead(200, { ETag: `"${createHash("md5").update(body).digest("hex")}"` });
    response.end();
    return;
  }
  if (method === "DELETE") {
    await rm(file, { force: true });
    response.writeHead(204);
    response.end();
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return s3Error(response, 404, "NoSuchKey", "The specified key does not exist.", method);
  if (method !== "GET" && method !== "HEAD") return s3Error(response, 405, "MethodNotAllowed", `${method} is not supported here.`, method);
  response.writeHead(200, { "Content-Type": contentTypeFor(file), "Content-Length": String(info.size), "Last-Modified": info.mtime.toUTCString() });
  response.end(method === "HEAD" ? undefined : await readFile(file));
}

/** Path-style S3: /<bucket>/<key>, or the bucket itself for a listing. */
async function serveS3(state: StandIn, response: ServerResponse, method: string, pathname: string, query: URLSearchParams, body: Buffer): Promise<void> {
  const [, bucket = "", ...rest] = pathname.split("/");
  if (bucket !== state.options.bucket) return s3Error(response, 404, "NoSuchBucket", `The bucket ${bucket} does not exist.`, method);
  const key = rest.map((segment) => decodeURIComponent(segment)).join("/");
  if (key === "" && method === "GET" && query.get("list-type") === "2") return listObjects(state, response, query, method);
  return serveObject(state, response, method, key, query, body);
}

/** SES v2 SendEmail of a raw message: kept in .lamp/mail/, one line, never sent. */
async function serveSes(state: StandIn, response: ServerResponse, body: Buffer): Promise<void> {
  const { options } = state;
  const request = JSON.parse(body.toString("utf8")) as { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } } };
  const from = request.FromEmailAddress ?? "";
  if (options.mailFrom && from !== options.mailFrom) {
    response.writeHead(403, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ message: `The function may send as ${options.mailFrom} only (lamp.json mail.from), not ${from}.` }));
    return;
  }
  const raw = Buffer.from(request.Content?.Raw?.Data ?? "", "base64");
  const subject = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(raw.toString("utf8"))?.[1]?.replace(/\r?\n[ \t]+/g, " ") ?? "";
  const stamp = new Date(options.now()).toISOString().replace(/[:.]/g, "-");
  state.mailCount += 1;
  await mkdir(state.mailDir, { recursive: true });
  // The time and a random part: lamp dev and a lamp run beside it may catch mail at the same moment.
  const file = path.join(state.mailDir, `${stamp}-${randomBytes(3).toString("hex")}.eml`);
  await writeFile(file, raw);
  const to = (request.Destination?.ToAddresses ?? []).join(", ");
  const unsent = options.mailFrom ? "" : " — in Lambda it would not be sent: set mail.from in lamp.json";
  options.onMail(`mail to ${to}: ${JSON.stringify(subject)} caught, not sent: ${path.relative(path.dirname(options.stateDir), file)}${unsent}`);
  response.writeHead(200, { "Content-Type": "application/json" });
  response.end(JSON.stringify({ MessageId: `lamp-dev-${state.mailCount}` }));
}

/** Every request: signed with the stand-ins' keys, then S3 or SES. */
async function serveRequest(state: StandIn, credentials: { accessKeyId: string; secretAccessKey: string }, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { options } = state;
  const url = new URL(request.url ?? "/", "http://localhost");
  const method = request.method ?? "GET";
  const body = await readBody(request);
  if (body === undefined) return s3Error(response, 400, "EntityTooLarge", "Too large for lamp dev's stand-in.", method);
  const [rawPath = "/", rawQuery = ""] = (request.url ?? "/").split("?");
  const check = checkSignature({ method, path: rawPath, query: rawQuery, headers: request.headers as Record<string, string>, body }, credentials, options.region, options.now());
  if (!check.ok) {
    options.onProblem(`PHP's ${method} ${url.pathname} to lamp dev's AWS stand-in was refused: ${check.code} (${check.message}); AWS would refuse it too.`);
    return s3Error(response, 403, check.code, check.message, method);
  }
  if (check.service === "ses" && method === "POST" && url.pathname === "/v2/email/outbound-emails") return serveSes(state, response, body);
  if (check.service === "s3") return serveS3(state, response, method, url.pathname, url.searchParams, body);
  return s3Error(response, 400, "InvalidRequest", `lamp dev stands in for S3 and SES's SendEmail only (${check.service} ${method} ${url.pathname}).`, method);
}

export async function startLocalAws(options: LocalAwsOptions): Promise<LocalAws> {
  const state: StandIn = { options, bucketDir: path.join(options.stateDir, "bucket"), mailDir: path.join(options.stateDir, "mail"), mailCount: 0 };
  // Keys of this run only: PHP signs with them, as it signs with the role's in Lambda.
  const credentials = { accessKeyId: `LAMPDEV${randomBytes(6).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(24).toString("base64url") };
  const server = createServer((request, response) => {
    serveRequest(state, credentials, request, response).catch((error: unknown) => {
      options.onProblem(`lamp dev's AWS stand-in failed on ${request.method} ${request.url}: ${(error as Error).message}`);
      if (!response.headersSent) s3Error(response, 500, "InternalError", (error as Error).message, request.method ?? "GET");
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    environment: {
      LAMP_S3_ENDPOINT: endpoint,
      LAMP_SES_ENDPOINT: endpoint,
      LAMP_AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      LAMP_AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    bucketDir: state.bucketDir,
    mailDir: state.mailDir,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The bucket's name PHP gets locally (lamp deploy gives the stack's). */
const localBucketName = "lamp-dev-bucket";

/**
 * The stand-ins for a project (lamp dev, lamp run), and the variables its PHP gets: theirs, plus what
 * lamp deploy gives the functions for lamp.json's "wordpress" (the bucket) and "mail" (the sender).
 */
export async function startProjectAws(
  project: { root: string; config: Pick<LampConfig, "wordpress" | "mail"> },
  region: string,
  events: Pick<LocalAwsOptions, "now" | "onMail" | "onProblem">,
): Promise<LocalAws & { variables: Record<string, string> }> {
  const { config } = project;
  const aws = await startLocalAws({ stateDir: path.join(project.root, ".lamp"), region, bucket: localBucketName, writablePrefix: uploadsKeyPrefix, mailFrom: config.mail?.from, ...events });
  return {
    ...aws,
    variables: {
      ...aws.environment,
      ...(config.wordpress ? { [uploadsBucketVariable]: localBucketName } : {}),
      ...(config.mail ? { [mailFromVariable]: config.mail.from } : {}),
    },
  };
}
