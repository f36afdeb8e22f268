import { readFile } from "node:fs/promises";
import { packagePath } from "../core/paths.js";
import type { ManagedFile } from "../project/managed-files.js";

/**
 * Mail for PHP's mail(): Lambda has no sendmail, so sendmail_path runs lamp/sendmail.php, which
 * hands the message to Amazon SES (lamp/aws.php) in Lambda, and to lamp dev's stand-in locally.
 */

/** The AWS client and the sendmail script, as this lamp ships them (templates/lamp/). */
const awsClientFile = "lamp/aws.php";
const sendmailFile = "lamp/sendmail.php";
const mailIniFile = "php/conf.d/lamp-mail.ini";

/** Where the bundled sendmail script is: lamp dev points sendmail_path at it for every project. */
export const bundledSendmailPath = packagePath("templates", "lamp", "sendmail.php");

/** The ini line that makes mail() run lamp's script; `php` is on Lambda's PATH (/opt/bin) and on lamp dev's. */
function mailIni(): string {
  return [
    "; Written by lamp: PHP's mail() hands each message to lamp/sendmail.php, which sends it through",
    "; Amazon SES from lamp.json's mail.from in Lambda (there is no sendmail there) and to lamp dev's",
    "; stand-in locally (saved in .lamp/mail/, never sent). See docs/router-wordpress.md, \"Mail\".",
    'sendmail_path = "php ${LAMBDA_TASK_ROOT}/lamp/sendmail.php"',
    "",
  ].join("\n");
}

export async function mailFiles(): Promise<ManagedFile[]> {
  return [
    { path: awsClientFile, content: await readFile(packagePath("templates", "lamp", "aws.php")) },
    { path: sendmailFile, content: await readFile(bundledSendmailPath) },
    { path: mailIniFile, content: Buffer.from(mailIni()) },
  ];
}
