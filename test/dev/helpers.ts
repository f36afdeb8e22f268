import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findPhpFpm } from "../../src/project/php-fpm-binary.js";

export const fixtureApp = fileURLToPath(new URL("./fixtures/app/", import.meta.url));

/**
 * The php-fpm binary the integration tests use. Missing locally: the suite is skipped with a
 * loud warning. Missing in CI: the suite fails, because CI must run it.
 */
export function phpFpmForTests(): string | undefined {
  try {
    return findPhpFpm(undefined, process.env);
  } catch (error) {
    if (process.env.CI) throw new Error(`php-fpm is required in CI for test/dev: ${(error as Error).message}`);
    console.warn(`\n⚠⚠⚠ SKIPPING lamp dev integration tests: php-fpm not found (${(error as Error).message}). Install Debian's php-fpm. ⚠⚠⚠\n`);
    return undefined;
  }
}

/** A throwaway copy of the fixture app (tests add symlinks and files to it). */
export function copyFixtureApp(): { root: string; remove(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), "lamp-dev-test-"));
  cpSync(fixtureApp, root, { recursive: true });
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** An HTTP request sent exactly as given (fetch would normalise `..` and encodings away). */
export function rawRequest(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, method: options.method ?? "GET", path: options.path, headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode!, headers: response.headers, rawHeaders: response.rawHeaders, body: Buffer.concat(chunks) }),
      );
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** Process ids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)]).toString().trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The php-fpm workers of a master (its other child is lamp's watchdog). */
export function workerPids(masterPid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(masterPid), "-f", "^php-fpm: pool"]).toString().trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Alive and not a zombie (a killed process whose exit status nobody has collected yet). */
export function isRunning(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.charAt(0);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
