import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startLocalAws, type LocalAws } from "../../src/dev/local-aws.js";
import { bundledSendmailPath } from "../../src/mail/files.js";
import { packagePath } from "../../src/core/paths.js";

/**
 * PHP's mail() through lamp/sendmail.php (sendmail_path), with the real PHP CLI: caught by lamp dev's
 * SES stand-in (which checks the signature and that the sender is mail.from), refused with one line
 * where Lambda has no mail.from; and the bucket stand-in allowing only what the function's role may.
 */
const run = promisify(execFile);
const work = mkdtempSync(path.join(os.tmpdir(), "lamp-mail-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const stands: LocalAws[] = [];
afterEach(async () => {
  for (const stand of stands.splice(0)) await stand.close();
});

async function standIn(mailFrom?: string) {
  const lines: string[] = [];
  const problems: string[] = [];
  const stateDir = path.join(mkdtempSync(path.join(work, "project-")), ".lamp");
  const stand = await startLocalAws({ stateDir, region: "eu-west-1", bucket: "lamp-dev-bucket", writablePrefix: "wp-content/uploads/", mailFrom, now: () => Date.now(), onMail: (line) => lines.push(line), onProblem: (line) => problems.push(line) });
  stands.push(stand);
  return { stand, lines, problems };
}

/** mail() in a PHP process whose sendmail_path is lamp's script, with only `env` (and PATH). */
async function phpMail(env: Record<string, string>, headers = "From: App <app@example.org>"): Promise<{ result: string; stderr: string }> {
  const code = `var_dump(mail("Ann <ann@example.com>", "Your order", "Thanks!\\n", ${JSON.stringify(headers)}));`;
  const { stdout, stderr } = await run("php", ["-d", `sendmail_path=php ${bundledSendmailPath}`, "-r", code], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", AWS_REGION: "eu-west-1", ...env } });
  return { result: stdout.trim(), stderr };
}

describe("mail() through lamp/sendmail.php", () => {
  it("under lamp dev: caught by the stand-in, saved as the message PHP made, one line (to, subject, file), nothing sent", async () => {
    const { stand, lines } = await standIn();
    const { result } = await phpMail(stand.environment);
    expect(result).toBe("bool(true)");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mail to ann@example\.com: "Your order" caught, not sent: \.lamp\/mail\/[\w-]+\.eml — in Lambda it would not be sent: set mail\.from in lamp\.json$/);
    const [file] = readdirSync(stand.mailDir);
    const message = readFileSync(path.join(stand.mailDir, file!), "utf8");
    expect(message).toMatch(/^To: Ann <ann@example\.com>$/m);
    expect(message).toMatch(/^Subject: Your order$/m);
    expect(message).toContain("Thanks!");
  });

  it("in Lambda without mail.from: mail() returns false and one line names the setting", async () => {
    const { result, stderr } = await phpMail({ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "secret" });
    expect(result).toBe("bool(false)");
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^lamp: mail\(\) to ann@example\.com \("Your order"\) not sent: set "mail": \{"from": "you@your-domain"\} in lamp\.json/)]);
  });

  it("with mail.from: sent as that address (the app's sender becomes Reply-To), Bcc told to SES but not shown", async () => {
    const { stand, lines } = await standIn("site@example.com");
    const { result } = await phpMail({ ...stand.environment, LAMP_MAIL_FROM: "site@example.com" }, "From: App <app@example.org>\r\nBcc: boss@example.com");
    expect(result).toBe("bool(true)");
    expect(lines[0]).toMatch(/^mail to ann@example\.com, boss@example\.com: "Your order" caught, not sent: \.lamp\/mail\/\S+\.eml$/);
    const message = readFileSync(path.join(stand.mailDir, readdirSync(stand.mailDir)[0]!), "utf8");
    expect(message).toMatch(/^From: site@example\.com\r?$/m);
    expect(message).toMatch(/^Reply-To: App <app@example\.org>\r?$/m);
    expect(message).not.toMatch(/^Bcc:/im);
  });

  it("the stand-in refuses what AWS would: another sender than mail.from, and a bad signature", async () => {
    const { stand, lines, problems } = await standIn("site@example.com");
    const other = await phpMail({ ...stand.environment, LAMP_MAIL_FROM: "other@example.com" });
    expect(other.result).toBe("bool(false)");
    expect(other.stderr).toMatch(/SES refused the message from other@example\.com: HTTP 403 The function may send as site@example\.com only/);
    const forged = await phpMail({ ...stand.environment, LAMP_MAIL_FROM: "site@example.com", LAMP_AWS_SECRET_ACCESS_KEY: "guessed" });
    expect(forged.result).toBe("bool(false)");
    expect(problems[0]).toMatch(/refused: SignatureDoesNotMatch/);
    expect(lines).toEqual([]);
  });
});

describe("lamp dev's bucket stand-in", () => {
  it("takes and serves what lamp/aws.php puts under wp-content/uploads/, refuses other keys as the function's role would be", async () => {
    const { stand } = await standIn();
    const fixture = path.join(import.meta.dirname, "..", "wordpress", "fixtures", "s3-client.php");
    writeFileSync(path.join(work, "file.txt"), "hello");
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LAMP_AWS_PHP: packagePath("templates", "lamp", "aws.php"), LAMP_UPLOADS_BUCKET: "lamp-dev-bucket", AWS_REGION: "eu-west-1", ...stand.environment };
    const php = async (...args: string[]) => JSON.parse((await run("php", [fixture, ...args], { env }).catch((error: { stdout: string }) => error)).stdout) as unknown;
    expect(await php("put", "wp-content/uploads/2026/12/file.txt", path.join(work, "file.txt"), "text/plain")).toEqual({ ok: true });
    expect(readFileSync(path.join(stand.bucketDir, "wp-content/uploads/2026/12/file.txt"), "utf8")).toBe("hello");
    expect(await php("list", "wp-content/uploads/", "/")).toEqual({ keys: [], prefixes: ["wp-content/uploads/2026/"] });
    expect(await php("head", "wp-content/uploads/2026/12/file.txt")).toMatchObject({ size: 5 });
    expect(await php("put", "wp-config.php", path.join(work, "file.txt"))).toEqual({ error: expect.stringMatching(/HTTP 403 AccessDenied The function may use wp-content\/uploads\/\* only/) });
    expect(await php("delete", "wp-content/uploads/2026/12/file.txt")).toEqual({ ok: true });
    expect(await php("get", "wp-content/uploads/2026/12/file.txt", path.join(work, "out"))).toEqual({ found: false });
  });
});
