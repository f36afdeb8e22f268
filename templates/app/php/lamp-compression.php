<?php
/**
 * Part of the project's runtime layer (php/lamp-runtime.php): PHP's text answers leave the
 * function gzip-compressed when the browser accepts gzip.
 *
 * Why here and not at CloudFront: API Gateway HTTP APIs never compress, and AWS does not document
 * that CloudFront compresses answers it does not cache (most PHP pages). Compressing in the
 * function is certain, and it also keeps large pages under Lambda's 6 MB response limit. It needs
 * BREF_BINARY_RESPONSES=1 (set in template.yaml): without it Bref cannot return the compressed
 * bytes. CloudFront never compresses an answer twice: it leaves one with a Content-Encoding alone.
 * Brotli would need an extension Bref's layer does not have; CloudFront adds brotli for what it caches.
 *
 * Left alone: answers PHP (or the app, e.g. with ob_gzhandler) already encoded, non-text types,
 * bodies under 1,000 bytes (CloudFront's own threshold), 204/304 and other bodiless answers.
 * LAMP_COMPRESSION=off in lamp.json's `environment` turns it off.
 */

declare(strict_types=1);

namespace Lamp\Runtime\Compression;

/** Types worth compressing: text. Images, fonts and archives are compressed already or rarely served by PHP. */
const COMPRESSIBLE = '~^(text/(html|css|plain|javascript|xml|csv)|application/([a-z.+-]*\+)?(json|xml|javascript|x-javascript)|image/svg\+xml)\s*(;|$)~i';
const MINIMUM_BYTES = 1000;

/** The value of a response header PHP is about to send, or null. */
function responseHeader(string $name): ?string
{
    $prefix = strtolower($name) . ':';
    $found = null;
    foreach (headers_list() as $line) {
        if (strncasecmp($line, $prefix, strlen($prefix)) === 0) {
            $found = trim(substr($line, strlen($prefix)));
        }
    }
    return $found;
}

function acceptsGzip(string $acceptEncoding): bool
{
    foreach (explode(',', $acceptEncoding) as $part) {
        $fields = array_map('trim', explode(';', $part));
        if (strtolower($fields[0]) !== 'gzip' && $fields[0] !== '*') {
            continue;
        }
        foreach (array_slice($fields, 1) as $parameter) {
            if (preg_match('/^q\s*=\s*0(\.0*)?$/i', $parameter)) {
                continue 2;
            }
        }
        return true;
    }
    return false;
}

/** Whether this answer is text that should vary by Accept-Encoding. */
function compressibleAnswer(): bool
{
    $status = http_response_code();
    if (is_int($status) && ($status < 200 || $status === 204 || $status === 304)) {
        return false;
    }
    if (responseHeader('Content-Encoding') !== null) {
        return false;
    }
    $type = responseHeader('Content-Type') ?? (string) ini_get('default_mimetype');
    return preg_match(COMPRESSIBLE, $type) === 1;
}

/** The output handler: decides on the first chunk (headers leave with it), then streams gzip. */
function handler(): \Closure
{
    $stream = null;
    $decided = false;
    return static function (string $buffer, int $phase) use (&$stream, &$decided): string {
        if (!$decided) {
            $decided = true;
            $final = ($phase & PHP_OUTPUT_HANDLER_FINAL) !== 0;
            if (headers_sent() || !compressibleAnswer()) {
                return $buffer;
            }
            header('Vary: Accept-Encoding', false);
            // A whole body that is small is not worth it; a streamed one (flushed early) is compressed.
            if (!acceptsGzip((string) ($_SERVER['HTTP_ACCEPT_ENCODING'] ?? '')) || ($final && strlen($buffer) < MINIMUM_BYTES)) {
                return $buffer;
            }
            $stream = deflate_init(ZLIB_ENCODING_GZIP, ['level' => 6]);
            header('Content-Encoding: gzip');
            header_remove('Content-Length');
            $etag = responseHeader('ETag');
            if ($etag !== null && !str_starts_with($etag, 'W/')) {
                header('ETag: W/' . $etag);
            }
        }
        if ($stream === null) {
            return $buffer;
        }
        $flush = ($phase & PHP_OUTPUT_HANDLER_FINAL) !== 0 ? ZLIB_FINISH : ZLIB_SYNC_FLUSH;
        return (string) deflate_add($stream, $buffer, $flush);
    };
}

function enabled(): bool
{
    $binary = getenv('BREF_BINARY_RESPONSES');
    return function_exists('deflate_init')
        && is_string($binary) && $binary !== '' && $binary !== '0'
        && getenv('LAMP_COMPRESSION') !== 'off'
        && !filter_var(ini_get('zlib.output_compression'), FILTER_VALIDATE_BOOLEAN);
}

if (enabled()) {
    ob_start(handler());
}
