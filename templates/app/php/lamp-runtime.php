<?php
/**
 * The project's runtime layer, loaded before every web request by php/conf.d/lamp.ini.
 *
 * Behind CloudFront and API Gateway, Bref hands PHP the API Gateway's own host, no HTTPS flag and
 * REMOTE_ADDR 127.0.0.1. This file restores the viewer's view of the request, so ordinary PHP
 * (redirects, absolute URLs, client IPs) works unchanged, in Lambda and under `lamp dev` alike:
 *
 * 1. Origin check: CloudFront adds the header X-Lamp-Origin to every request it sends to the API,
 *    with a per-stack value the function also knows (LAMP_ORIGIN_TOKEN, both set in template.yaml).
 *    A request without it did not come through CloudFront (someone called the execute-api URL
 *    directly): it is refused with a 403, and none of its forwarded headers are believed.
 *    The value is then removed from $_SERVER, $_ENV and getenv(), so the app never sees it.
 * 2. The viewer's request: HTTP_HOST/SERVER_NAME from X-Forwarded-Host (which the distribution's
 *    CloudFront Function sets from the viewer's Host, replacing any the client sent), the scheme
 *    and port, and REMOTE_ADDR from the entry CloudFront appended to X-Forwarded-For. The
 *    X-Forwarded-* headers are rewritten to these values, so a framework that trusts them reads
 *    the same truth.
 * 3. Compression: text answers leave the function gzip-compressed (php/lamp-compression.php).
 * 4. Sessions: with a database (lamp.json `database`, so DB_HOST is set), PHP sessions are stored in
 *    it (php/lamp-sessions.php), because Lambda instances do not share /tmp. LAMP_SESSIONS=files in
 *    lamp.json's `environment` keeps PHP's own handler.
 *
 * Command-line PHP (cron jobs, console commands) is left alone. Turn the whole layer off by
 * deleting php/conf.d/lamp.ini; see README.md ("The runtime layer") for what frameworks then need.
 */

declare(strict_types=1);

namespace Lamp\Runtime;

const ORIGIN_HEADER = 'HTTP_X_LAMP_ORIGIN';
const ORIGIN_VARIABLE = 'LAMP_ORIGIN_TOKEN';

/** Answers 403 and ends the request: it did not come through the site's CloudFront distribution. */
function refuse(string $reason): void
{
    $site = getenv('LAMP_SITE_URL');
    $where = is_string($site) && $site !== '' ? "Open the site at {$site}" : 'Open the site through its CloudFront URL (`lamp info` prints it)';
    http_response_code(403);
    header('Content-Type: text/plain; charset=utf-8');
    header('Cache-Control: no-store');
    echo "Forbidden: {$reason}. {$where}.\n";
    exit;
}

/**
 * True when the request carries CloudFront's origin header with this stack's value. Removes the
 * value from everywhere the app could read it; for this request only (PHP restores the process
 * environment when the request ends, so the next request can check again).
 */
function cameThroughCloudFront(): bool
{
    $expected = getenv(ORIGIN_VARIABLE);
    $received = $_SERVER[ORIGIN_HEADER] ?? null;
    putenv(ORIGIN_VARIABLE);
    unset($_SERVER[ORIGIN_VARIABLE], $_ENV[ORIGIN_VARIABLE], $_SERVER[ORIGIN_HEADER], $_ENV[ORIGIN_HEADER]);
    if (!is_string($expected) || $expected === '') {
        error_log('lamp runtime: ' . ORIGIN_VARIABLE . ' is not set, so no request can be verified; set it in template.yaml or delete php/conf.d/lamp.ini');
        return false;
    }
    return is_string($received) && hash_equals($expected, $received);
}

/** The comma-separated entries of a forwarded header, trimmed, empty ones dropped. */
function entries(?string $value): array
{
    if ($value === null || $value === '') {
        return [];
    }
    return array_values(array_filter(array_map('trim', explode(',', $value)), static fn (string $entry): bool => $entry !== ''));
}

/**
 * The viewer's address. CloudFront appends the viewer's address to X-Forwarded-For and API Gateway
 * then appends the address that called it (CloudFront's, the event's sourceIp): the viewer is the
 * entry before that one. Anything further left was sent by the client and may be forged.
 */
function viewerAddress(array $server): ?string
{
    $chain = entries($server['HTTP_X_FORWARDED_FOR'] ?? null);
    $context = json_decode((string) ($server['LAMBDA_REQUEST_CONTEXT'] ?? ''), true);
    $gatewayCaller = is_array($context) ? ($context['http']['sourceIp'] ?? null) : null;
    if ($gatewayCaller !== null && end($chain) === $gatewayCaller) {
        array_pop($chain);
    }
    $viewer = end($chain);
    return is_string($viewer) && filter_var($viewer, FILTER_VALIDATE_IP) !== false ? $viewer : null;
}

/** $_SERVER as the viewer's request: host, scheme, port and address. */
function viewerServer(array $server): array
{
    $scheme = strtolower((string) (array_slice(entries($server['HTTP_X_FORWARDED_PROTO'] ?? null), -1)[0] ?? 'https'));
    if ($scheme !== 'http' && $scheme !== 'https') {
        $scheme = 'https';
    }
    $server['REQUEST_SCHEME'] = $scheme;
    $server['HTTP_X_FORWARDED_PROTO'] = $scheme;
    if ($scheme === 'https') {
        $server['HTTPS'] = 'on';
    } else {
        unset($server['HTTPS']);
    }

    $host = $server['HTTP_X_FORWARDED_HOST'] ?? '';
    // A host name or an address, with an optional port: nothing that could smuggle a path or a second host.
    if (preg_match('/^(?<name>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?<port>\d{1,5}))?$/', $host, $match) === 1) {
        $port = isset($match['port']) && $match['port'] !== '' ? $match['port'] : ($scheme === 'https' ? '443' : '80');
        $server['HTTP_HOST'] = $host;
        $server['SERVER_NAME'] = $match['name'];
        $server['SERVER_PORT'] = $port;
        $server['HTTP_X_FORWARDED_PORT'] = $port;
    } else {
        unset($server['HTTP_X_FORWARDED_HOST']);
    }

    $viewer = viewerAddress($server);
    if ($viewer !== null) {
        $server['REMOTE_ADDR'] = $viewer;
        $server['HTTP_X_FORWARDED_FOR'] = $viewer;
    } else {
        unset($server['HTTP_X_FORWARDED_FOR']);
    }
    return $server;
}

if (PHP_SAPI !== 'cli' && PHP_SAPI !== 'phpdbg') {
    // 1. Origin check.
    if (!cameThroughCloudFront()) {
        refuse('this function only answers requests that come through its CloudFront distribution');
    }

    // 2. The viewer's request.
    $_SERVER = viewerServer($_SERVER);

    // 3. Text answers gzip-compressed in the function (why there: php/lamp-compression.php).
    require_once __DIR__ . '/lamp-compression.php';

    // 4. Sessions shared by every instance, in the project's database.
    if (getenv('DB_HOST') && getenv('LAMP_SESSIONS') !== 'files') {
        require_once __DIR__ . '/lamp-sessions.php';
        session_set_save_handler(DatabaseSessionHandler::fromEnvironment(), true);
    }
}
