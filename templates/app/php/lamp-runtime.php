<?php
/**
 * The project's runtime layer, loaded before every web request by php/conf.d/lamp.ini.
 *
 * Behind CloudFront and API Gateway, Bref hands PHP the API Gateway's own host, no HTTPS flag and
 * REMOTE_ADDR 127.0.0.1. This file restores the viewer's view of the request, so ordinary PHP
 * (redirects, absolute URLs, client IPs) works unchanged, in Lambda and under `lamp dev` alike:
 *
 * 1. Origin check: CloudFront adds the header X-Lamp-Origin to every request it sends to the API,
 *    with a random value the function also knows (LAMP_ORIGIN_TOKEN: that value and the previous
 *    one, comma-separated; template.yaml's parameters, which `lamp deploy` rotates).
 *    A request without it did not come through CloudFront (someone called the execute-api URL
 *    directly): it is refused with a 403, and none of its forwarded headers are believed.
 *    The value is then removed from $_SERVER, $_ENV and getenv('LAMP_ORIGIN_TOKEN'), and
 *    getallheaders()/apache_request_headers() are lamp's (php/lamp-headers.php), built from $_SERVER.
 *    PHP can still read it with getenv('HTTP_X_LAMP_ORIGIN') and getenv() without arguments (php-fpm
 *    answers those from the request as it received it, which no PHP code can change).
 * 2. The viewer's request: HTTP_HOST/SERVER_NAME from X-Forwarded-Host (which the distribution's
 *    CloudFront Function sets from the viewer's Host, replacing any the client sent), the scheme
 *    and port, and REMOTE_ADDR from the entry CloudFront appended to X-Forwarded-For. The
 *    X-Forwarded-* headers are rewritten to these values, so a framework that trusts them reads
 *    the same truth.
 * 3. Compression: text answers leave the function gzip-compressed (php/lamp-compression.php).
 * 4. Sessions: with a database (lamp.json `database`, so DB_HOST is set), PHP sessions are stored in
 *    it (php/lamp-sessions.php), because Lambda instances do not share /tmp. LAMP_SESSIONS=files in
 *    lamp.json's `environment` keeps PHP's own handler. Database sessions get strict ids; both
 *    get HttpOnly, SameSite=Lax (and, under https, Secure) cookies unless the app's ini says otherwise.
 * 5. The app's own prepend: php/prepend.php, when it exists, runs last (`lamp dev` and `lamp deploy`
 *    refuse an auto_prepend_file of the app's in php/conf.d, which would replace this file or be
 *    replaced by it).
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
    if (!is_string($received) || $received === '') {
        return false;
    }
    // The current value and the previous one (lamp deploy rotates it; edges switch over within minutes).
    $accepted = false;
    foreach (explode(',', $expected) as $value) {
        $accepted = ($value !== '' && hash_equals($value, $received)) || $accepted;
    }
    return $accepted;
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
 * entry before that one. Anything further left was sent by the client and may be forged. A chain
 * that does not end with API Gateway's entry was not built by CloudFront and API Gateway (a header
 * that replaced theirs): none of it is believed.
 */
function viewerAddress(array $server): ?string
{
    $chain = entries($server['HTTP_X_FORWARDED_FOR'] ?? null);
    $context = json_decode((string) ($server['LAMBDA_REQUEST_CONTEXT'] ?? ''), true);
    $gatewayCaller = is_array($context) ? ($context['http']['sourceIp'] ?? null) : null;
    if (!is_string($gatewayCaller) || count($chain) < 2 || array_pop($chain) !== $gatewayCaller) {
        return null;
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

/**
 * Session settings left at PHP's defaults become safe ones: with database sessions, ids the
 * server never issued are refused (strict mode: no session fixation); the cookie is HttpOnly,
 * SameSite=Lax, and Secure when the viewer used https. What the app set in its own ini stays; so does what it sets at run
 * time (ini_set, session_set_cookie_params), which comes after this.
 */
function sessionDefaults(bool $https, bool $strict): void
{
    if (session_status() === PHP_SESSION_ACTIVE) {
        return; // session.auto_start: too late to change, and the app chose its settings.
    }
    $defaults = ['session.cookie_httponly' => '1', 'session.cookie_samesite' => 'Lax'];
    if ($strict) {
        // The database handler checks ids against its table (validateId).
        $defaults['session.use_strict_mode'] = '1';
    }
    if ($https) {
        $defaults['session.cookie_secure'] = '1';
    }
    foreach ($defaults as $name => $value) {
        $current = ini_get($name);
        if ($current === '' || $current === '0') {
            ini_set($name, $value);
        }
    }
}

if (PHP_SAPI !== 'cli' && PHP_SAPI !== 'phpdbg') {
    // 1. Origin check.
    if (!cameThroughCloudFront()) {
        refuse('this function only answers requests that come through its CloudFront distribution');
    }

    // 2. The viewer's request, and the header functions that read it (PHP's own would list the origin header).
    $_SERVER = viewerServer($_SERVER);
    require_once __DIR__ . '/lamp-headers.php';
    if ((new \ReflectionFunction('getallheaders'))->isInternal()) {
        error_log('lamp runtime: getallheaders() is PHP\'s own, which shows the app the X-Lamp-Origin header: an ini file in php/conf.d sets disable_functions after lamp.ini without "getallheaders,apache_request_headers"; add them there');
    }

    // 3. Text answers gzip-compressed in the function (why there: php/lamp-compression.php).
    require_once __DIR__ . '/lamp-compression.php';

    // 4. Sessions shared by every instance, in the project's database, with safe cookie defaults.
    $databaseSessions = getenv('DB_HOST') && getenv('LAMP_SESSIONS') !== 'files';
    sessionDefaults(($_SERVER['HTTPS'] ?? '') === 'on', (bool) $databaseSessions);
    if ($databaseSessions) {
        require_once __DIR__ . '/lamp-sessions.php';
        session_set_save_handler(DatabaseSessionHandler::fromEnvironment(), true);
    }
}

// 5. The app's own prepend (a WAF, a polyfill): PHP keeps one auto_prepend_file, lamp's, so the
// app's goes in php/prepend.php and runs here, after the layer, for web and command-line PHP alike.
if (is_file(__DIR__ . '/prepend.php')) {
    require __DIR__ . '/prepend.php';
}
