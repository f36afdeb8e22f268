import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiGatewayV2Event } from "../../src/dev/event.js";
import { writeNewProject } from "../helpers/new-project.js";
import { phpFpmForTests } from "../dev/helpers.js";
import { gatewayGetEvent, startBrefFpm, type BrefAnswer, type BrefFpm } from "../helpers/bref-fpm.js";

/**
 * The runtime layer a new project ships (php/conf.d/lamp.ini + php/lamp-runtime.php), run under a
 * real php-fpm configured as Bref configures it in Lambda, with the FastCGI requests Bref builds from
 * the events API Gateway sends behind the generated CloudFront.
 */

const phpFpm = phpFpmForTests();
const token = "7c0ffee0-aaaa-4bbb-8ccc-0123456789ab";
const apiDomain = "k3j5h2g7f1.execute-api.eu-west-1.amazonaws.com";
const cloudFrontEdge = "130.176.1.2";

// Everything the app could read the token through, in one answer.
const probe = `<?php
ob_start();
phpinfo();
$info = ob_get_clean();
header('Content-Type: application/json');
echo json_encode([
    'host' => $_SERVER['HTTP_HOST'] ?? null,
    'serverName' => $_SERVER['SERVER_NAME'] ?? null,
    'port' => $_SERVER['SERVER_PORT'] ?? null,
    'https' => $_SERVER['HTTPS'] ?? null,
    'scheme' => $_SERVER['REQUEST_SCHEME'] ?? null,
    'remoteAddr' => $_SERVER['REMOTE_ADDR'] ?? null,
    'forwardedFor' => $_SERVER['HTTP_X_FORWARDED_FOR'] ?? null,
    'forwardedHost' => $_SERVER['HTTP_X_FORWARDED_HOST'] ?? null,
    'everywhere' => [$_SERVER, $_ENV, getenv('LAMP_ORIGIN_TOKEN'), $info, getallheaders(), apache_request_headers()],
    'headers' => getallheaders(),
    // Where the value is still readable, as the README says: php-fpm's own view of the request.
    'fpm' => getenv('HTTP_X_LAMP_ORIGIN'),
]);
`;

interface Probe {
  host: string | null;
  serverName: string | null;
  port: string | null;
  https: string | null;
  scheme: string | null;
  remoteAddr: string | null;
  forwardedFor: string | null;
  forwardedHost: string | null;
}

/** The event API Gateway builds for a request CloudFront forwards (or for a direct call, without CloudFront's headers). */
function gatewayEvent(headers: Record<string, string>, sourceIp = cloudFrontEdge): ApiGatewayV2Event {
  return gatewayGetEvent({
    rawPath: "/probe.php",
    apiId: "k3j5h2g7f1",
    domainName: apiDomain,
    headers: { host: apiDomain, "x-forwarded-port": "443", "x-forwarded-proto": "https", ...headers },
    sourceIp,
  });
}

/** Headers of a viewer's request as they leave CloudFront: its function's X-Forwarded-Host, its X-Forwarded-For entry, the origin header. */
function throughCloudFront(viewerIp: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "x-forwarded-host": "shop.example.com",
    "x-forwarded-for": `${viewerIp}, ${cloudFrontEdge}`,
    "x-lamp-origin": token,
    ...extra,
  };
}

describe.skipIf(!phpFpm)("the runtime layer of a new project, under php-fpm as in Lambda", () => {
  let project: Awaited<ReturnType<typeof writeNewProject>> | undefined;
  let root: string;
  let fpm: BrefFpm;

  beforeAll(async () => {
    project = await writeNewProject();
    root = project.root;
    writeFileSync(path.join(root, "public", "probe.php"), probe);
    writeFileSync(path.join(root, "public", "session.php"), "<?php session_start(); echo session_id();");
    fpm = await startBrefFpm({
      binary: phpFpm!,
      root,
      env: {
        PATH: process.env.PATH,
        LAMBDA_TASK_ROOT: root,
        LAMP_ORIGIN_TOKEN: token,
        LAMP_SITE_URL: "https://d111111abcdef8.cloudfront.net",
      },
      // Bref adds the project's php/conf.d to the scan dir, after its own settings.
      iniScanDirs: [path.join(root, "php", "conf.d")],
    });
  });

  afterAll(async () => {
    await fpm?.stop();
    project?.remove();
  });

  async function send(event: ApiGatewayV2Event, script = "probe.php"): Promise<BrefAnswer> {
    return fpm.invoke(event, path.join(root, "public", script));
  }

  it("gives the session cookie Secure, HttpOnly and SameSite=Lax behind CloudFront (https)", async () => {
    const { headers } = await send(gatewayEvent(throughCloudFront("203.0.113.7")), "session.php");
    const cookie = headers.find(([name, value]) => name.toLowerCase() === "set-cookie" && value.startsWith("PHPSESSID="))?.[1];
    expect(cookie).toMatch(/; secure/i);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
  });

  it("gives PHP the viewer's host, https, port 443 and address, and never shows the app the origin value", async () => {
    // Three requests on the same worker: the value is hidden from each, and still checked on the next.
    for (const viewerIp of ["203.0.113.7", "203.0.113.8", "2001:db8::5"]) {
      const { status, body } = await send(gatewayEvent(throughCloudFront(viewerIp)));
      expect(status).toBe(200);
      const seen = JSON.parse(body) as Probe & { headers: Record<string, string>; fpm: string | false };
      expect(seen.fpm).toBe(token);
      expect(body.replace(JSON.stringify(token), "")).not.toContain(token);
      // getallheaders() still works (Guzzle, PSR-7 factories), with the viewer's view of the request.
      expect(seen.headers).toMatchObject({ Host: "shop.example.com", "X-Forwarded-Host": "shop.example.com", "X-Forwarded-For": viewerIp });
      expect(Object.keys(seen.headers).map((name) => name.toLowerCase())).not.toContain("x-lamp-origin");
      expect(seen).toMatchObject({
        host: "shop.example.com",
        serverName: "shop.example.com",
        port: "443",
        https: "on",
        scheme: "https",
        remoteAddr: viewerIp,
        forwardedFor: viewerIp,
        forwardedHost: "shop.example.com",
      });
    }
  });

  it("takes the address CloudFront appended, not what the client put before it", async () => {
    const { body } = await send(gatewayEvent(throughCloudFront("198.51.100.9", { "x-forwarded-for": `10.0.0.1, 1.2.3.4, 198.51.100.9, ${cloudFrontEdge}` })));
    expect(JSON.parse(body)).toMatchObject({ remoteAddr: "198.51.100.9", forwardedFor: "198.51.100.9" });
  });

  it("believes no address from an X-Forwarded-For that CloudFront and API Gateway did not build (X_Forwarded_For replaced theirs)", async () => {
    // Both spellings become HTTP_X_FORWARDED_FOR in php-fpm, the later wins: the chain no longer ends with API Gateway's entry.
    const forged = gatewayEvent(throughCloudFront("203.0.113.7", { x_forwarded_for: "evil.com" }));
    const seen = JSON.parse((await send(forged)).body) as Probe;
    expect(seen).toMatchObject({ remoteAddr: "127.0.0.1", forwardedFor: null });
    const spoofedIp = gatewayEvent(throughCloudFront("203.0.113.7", { x_forwarded_for: "6.6.6.6" }));
    expect(JSON.parse((await send(spoofedIp)).body)).toMatchObject({ remoteAddr: "127.0.0.1", forwardedFor: null });
  });

  it("refuses a request without CloudFront's origin header with a 403 naming the site, whatever forwarded headers it forges", async () => {
    const direct = gatewayEvent({ "x-forwarded-host": "evil.example", "x-forwarded-for": "6.6.6.6" }, "198.51.100.20");
    const { status, body } = await send(direct);
    expect(status).toBe(403);
    expect(body.trim().split("\n")).toHaveLength(1);
    expect(body).toContain("https://d111111abcdef8.cloudfront.net");
    expect(body).not.toContain("evil.example");
  });

  it("refuses a wrong origin value", async () => {
    const { status } = await send(gatewayEvent(throughCloudFront("203.0.113.7", { "x-lamp-origin": "guessed" })));
    expect(status).toBe(403);
  });

  it("keeps API Gateway's host when X-Forwarded-Host is not a plain host", async () => {
    const { body } = await send(gatewayEvent(throughCloudFront("203.0.113.7", { "x-forwarded-host": "evil.example/path, shop.example.com" })));
    expect(JSON.parse(body)).toMatchObject({ host: apiDomain, forwardedHost: null });
  });

  it("leaves command-line PHP alone (no origin header there)", () => {
    const output = execFileSync("php", ["-r", "echo 'ran';"], {
      env: { PATH: process.env.PATH, LAMBDA_TASK_ROOT: root, PHP_INI_SCAN_DIR: `:${path.join(root, "php", "conf.d")}` },
      encoding: "utf8",
    });
    expect(output).toBe("ran");
  });
});
