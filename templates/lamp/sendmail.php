<?php
/**
 * PHP's sendmail_path (php/conf.d/lamp-mail.ini; lamp dev sets it for every project): mail() pipes
 * the message here. Lambda has no sendmail, so the message goes to Amazon SES as the function's
 * role, from lamp.json's mail.from (LAMP_MAIL_FROM). Without that setting nothing is sent: one log
 * line says so and mail() returns false. Under `lamp dev` LAMP_SES_ENDPOINT is lamp dev's stand-in,
 * which keeps the message under .lamp/mail/ and sends nothing.
 */

require __DIR__ . '/aws.php';

/** Header name (lower case) => unfolded value, of the message's header block. */
function lamp_mail_headers(string $message): array
{
    $end = strpos($message, "\r\n\r\n");
    $end = $end === false ? strpos($message, "\n\n") : $end;
    $block = $end === false ? $message : substr($message, 0, $end);
    $block = preg_replace('/\r?\n[ \t]+/', ' ', $block);
    $headers = [];
    foreach (preg_split('/\r?\n/', $block) as $line) {
        $colon = strpos($line, ':');
        if ($colon === false) continue;
        $name = strtolower(trim(substr($line, 0, $colon)));
        $value = trim(substr($line, $colon + 1));
        $headers[$name] = isset($headers[$name]) ? $headers[$name] . ', ' . $value : $value;
    }
    return $headers;
}

/** The bare addresses of an address list ("A <a@x>, b@y"). */
function lamp_mail_addresses(string $list): array
{
    preg_match_all('/[^\s<>,;"]+@[^\s<>,;"]+/', $list, $matches);
    return array_values(array_unique($matches[0]));
}

$message = stream_get_contents(STDIN);
$headers = lamp_mail_headers($message);
$recipients = lamp_mail_addresses(implode(', ', array_filter([$headers['to'] ?? '', $headers['cc'] ?? '', $headers['bcc'] ?? ''])));
// Bcc recipients are told to SES, never shown to the others.
$message = preg_replace('/^Bcc:.*(\r?\n[ \t].*)*\r?\n/mi', '', $message);
$subject = $headers['subject'] ?? '';
$from = getenv('LAMP_MAIL_FROM') ?: '';
$local = (bool) getenv('LAMP_SES_ENDPOINT');

if ($from === '' && !$local) {
    fwrite(STDERR, 'lamp: mail() to ' . implode(', ', $recipients) . ' (' . json_encode($subject) . ') not sent: set "mail": {"from": "you@your-domain"} in lamp.json to send through Amazon SES (see docs/router-wordpress.md, "Mail").' . "\n");
    exit(1);
}
if ($recipients === []) {
    fwrite(STDERR, "lamp: mail() without any recipient (To, Cc, Bcc): nothing sent.\n");
    exit(1);
}
if ($from !== '' && lamp_mail_addresses($headers['from'] ?? '') !== [$from]) {
    // SES sends only as a verified identity: the message goes out from mail.from, replies to its own sender.
    $original = $headers['from'] ?? '';
    $message = preg_replace('/^From:.*(\r?\n[ \t].*)*\r?\n/mi', '', $message);
    $message = 'From: ' . $from . "\r\n" . ($original !== '' && !isset($headers['reply-to']) ? 'Reply-To: ' . $original . "\r\n" : '') . $message;
}
try {
    // Under lamp dev without mail.from the stand-in still catches it; it says the setting is missing.
    Lamp_Ses::fromEnvironment()->sendRaw($from !== '' ? $from : ($headers['from'] ?? 'lamp-dev@localhost'), $recipients, $message);
} catch (Throwable $error) {
    fwrite(STDERR, $error->getMessage() . "\n");
    exit(1);
}
exit(0);
