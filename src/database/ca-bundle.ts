import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { packagePath } from "../core/paths.js";

/**
 * Amazon RDS's CA certificates (the root CAs of every region, RDS's global-bundle.pem), shipped in
 * projects with a database so PHP can verify Aurora's certificate: the cluster requires TLS, and
 * neither the system's CA store in Lambda nor PHP holds these roots. Public data, not code.
 */
export const caBundleFile = "php/rds-ca-bundle.pem";
/** Where the bundle is in Lambda: the function's code (the project, CodeUri `.`) is unpacked in /var/task. */
export const lambdaCaBundlePath = `/var/task/${caBundleFile}`;
/**
 * The variable Laravel's default config/database.php reads into PDO::MYSQL_ATTR_SSL_CA: set in
 * Lambda, Laravel connects to Aurora over verified TLS with no code.
 */
export const caBundleVariable = "MYSQL_ATTR_SSL_CA";

export function bundledCaBundle(): Promise<Buffer> {
  return readFile(packagePath("templates", "database", "rds-ca-bundle.pem"));
}

/**
 * Adds the bundle to a project that has none (one made before it had a database): the function's
 * MYSQL_ATTR_SSL_CA names it, so it must be packaged. Never replaces a file the project has.
 * Returns whether it wrote the file.
 */
export async function ensureCaBundle(root: string): Promise<boolean> {
  const file = path.join(root, caBundleFile);
  if (existsSync(file)) return false;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await bundledCaBundle(), { flag: "wx" });
  return true;
}
