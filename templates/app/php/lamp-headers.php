<?php
/**
 * getallheaders() and apache_request_headers(), as the runtime layer leaves them: the request's
 * headers from $_SERVER, after php/lamp-runtime.php has rewritten the forwarded ones and removed
 * CloudFront's X-Lamp-Origin. PHP's own versions read the headers as php-fpm received them, which
 * no PHP code can change, so php/conf.d/lamp.ini switches them off (disable_functions) and this file
 * defines them again. Loaded by php/lamp-runtime.php for web requests only.
 */

declare(strict_types=1);

if (!function_exists('getallheaders')) {
    /** @return array<string, string> Header names as browsers write them (Content-Type), values as received. */
    function getallheaders(): array
    {
        $headers = [];
        foreach ($_SERVER as $name => $value) {
            if (!is_string($value)) {
                continue;
            }
            if (str_starts_with((string) $name, 'HTTP_')) {
                $name = substr((string) $name, 5);
            } elseif ($name !== 'CONTENT_TYPE' && $name !== 'CONTENT_LENGTH') {
                continue;
            }
            $headers[str_replace(' ', '-', ucwords(strtolower(str_replace('_', ' ', (string) $name))))] = $value;
        }
        return $headers;
    }
}

if (!function_exists('apache_request_headers')) {
    /** @return array<string, string> The same as getallheaders(), its other name. */
    function apache_request_headers(): array
    {
        return getallheaders();
    }
}
