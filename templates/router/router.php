<?php
/*
 * serverless-lamp router: the function's handler for apps with many entry points (WordPress,
 * DokuWiki, phpMyAdmin...). Bref runs one handler for every request; this file then picks the
 * script nginx would run with the usual configuration
 *
 *     root <project>/<document root>;  index index.php;
 *     location / { try_files $uri $uri/ /index.php?$args; }
 *     location ~ [^/]\.php(/|$) { fastcgi_split_path_info ^(.+?\.php)(/.*)$; try_files $fastcgi_script_name =404; ... }
 *     location ~ /\. { deny all; }
 *
 * and runs it with the $_SERVER values and working directory nginx + php-fpm give it.
 * Nothing outside the document root runs, and no file is ever read or echoed: static files are
 * served by CloudFront from the bucket (and by `lamp dev` before PHP), never by this router.
 *
 * Written by lamp (lamp/router.php in the project); `lamp dev` and `lamp deploy` put it back when it
 * is missing. LAMP_DOCUMENT_ROOT (lamp.json "documentRoot", relative to the project) names the root.
 */

// require, not a function call: the chosen script must run in the global scope, as it would
// under nginx (WordPress declares its globals at the top level of its files).
require (static function (): string {
    $fail = static function (int $status, string $reason): never {
        http_response_code($status);
        header('Content-Type: text/html; charset=utf-8');
        echo "<html><head><title>$status $reason</title></head><body><h1>$status $reason</h1></body></html>\n";
        exit;
    };

    $projectRoot = dirname(__DIR__);
    $configured = getenv('LAMP_DOCUMENT_ROOT');
    $documentRoot = realpath($projectRoot . '/' . ($configured === false || $configured === '' ? 'public' : $configured));
    if ($documentRoot === false || !is_dir($documentRoot)) {
        error_log('lamp router: the document root ' . ($configured ?: 'public') . ' does not exist in ' . $projectRoot);
        $fail(500, 'Internal Server Error');
    }

    // A NUL byte in the path (/wp-config.php%00.css) is a 400, as nginx answers. php-fpm cuts
    // PATH_INFO at the NUL (it would read /wp-config.php), so look where the byte survives: the
    // event's path in Bref's JSON request context, and the request URI.
    $context = json_decode((string) ($_SERVER['LAMBDA_REQUEST_CONTEXT'] ?? ''), true);
    $eventPath = is_array($context) ? ($context['http']['path'] ?? '') : '';
    $requestUri = (string) ($_SERVER['REQUEST_URI'] ?? '');
    $requestUriPath = strtok($requestUri, '?') ?: '';
    if ((is_string($eventPath) && str_contains($eventPath, "\0")) || str_contains($requestUri, "\0") || stripos($requestUriPath, '%00') !== false) {
        $fail(400, 'Bad Request');
    }

    // Bref puts the decoded request path in PATH_INFO; elsewhere, decode REQUEST_URI's path.
    $path = $_SERVER['PATH_INFO'] ?? null;
    if (!is_string($path) || $path === '') {
        $uri = (string) ($_SERVER['REQUEST_URI'] ?? '/');
        $question = strpos($uri, '?');
        $path = rawurldecode($question === false ? $uri : substr($uri, 0, $question));
    }
    if (str_contains($path, "\0") || $path === '' || $path[0] !== '/') {
        $fail(400, 'Bad Request');
    }

    // nginx's $uri: slashes merged, "." dropped, ".." resolved (400 above the root), trailing slash kept.
    $segments = [];
    foreach (explode('/', $path) as $segment) {
        if ($segment === '' || $segment === '.') {
            continue;
        }
        if ($segment === '..') {
            if ($segments === []) {
                $fail(400, 'Bad Request');
            }
            array_pop($segments);
            continue;
        }
        $segments[] = $segment;
    }
    $trailingSlash = $segments !== [] && (str_ends_with($path, '/') || str_ends_with($path, '/.') || str_ends_with($path, '/..'));

    // location ~ /\. { deny all; } -- .git, .env, .htaccess, and every other dotfile or dot-folder.
    foreach ($segments as $segment) {
        if ($segment[0] === '.') {
            $fail(403, 'Forbidden');
        }
    }

    // A real path inside the document root, or null: symlinks out of it do not count.
    $inside = static function (string $candidate) use ($documentRoot): ?string {
        $real = realpath($candidate);
        if ($real === false || !str_starts_with($real, $documentRoot . DIRECTORY_SEPARATOR)) {
            return null;
        }
        return $real;
    };

    $scriptName = null;
    $pathInfo = '';
    foreach ($segments as $index => $segment) {
        // fastcgi_split_path_info ^(.+?\.php)(/.*)$: the first segment ending in .php (not a bare ".php").
        if (strlen($segment) > 4 && str_ends_with($segment, '.php')) {
            $scriptName = '/' . implode('/', array_slice($segments, 0, $index + 1));
            $rest = array_slice($segments, $index + 1);
            $pathInfo = $rest === [] ? '' : '/' . implode('/', $rest) . ($trailingSlash ? '/' : '');
            if ($rest === [] && $trailingSlash) {
                $pathInfo = '/';
            }
            break;
        }
    }

    if ($scriptName !== null) {
        // try_files $fastcgi_script_name =404: a .php name runs that file or nothing.
        $real = $inside($documentRoot . $scriptName);
        if ($real === null || !is_file($real)) {
            $fail(404, 'Not Found');
        }
    } else {
        $uriPath = '/' . implode('/', $segments);
        $target = $documentRoot . ($segments === [] ? '' : $uriPath);
        $real = $segments === [] ? $documentRoot : $inside($target);
        if ($real !== null && is_dir($real)) {
            // try_files $uri/: a folder without its slash is redirected to it; with it, its index.php runs.
            if ($segments !== [] && !$trailingSlash) {
                $query = (string) ($_SERVER['QUERY_STRING'] ?? '');
                header('Location: ' . str_replace('%2F', '/', rawurlencode($uriPath)) . '/' . ($query === '' ? '' : '?' . $query), true, 301);
                exit;
            }
            $scriptName = ($segments === [] ? '' : $uriPath) . '/index.php';
            $real = $inside($documentRoot . $scriptName);
            if ($real === null || !is_file($real)) {
                $fail(403, 'Forbidden');
            }
        } elseif ($real !== null && is_file($real)) {
            // nginx would send this file as it is; here only the static types lamp uploads are public,
            // and they never reach PHP. Anything else stays private.
            $fail(404, 'Not Found');
        } else {
            // try_files ... /index.php?$args: the front controller.
            $scriptName = '/index.php';
            $real = $inside($documentRoot . $scriptName);
            if ($real === null || !is_file($real)) {
                $fail(404, 'Not Found');
            }
        }
    }

    $_SERVER['DOCUMENT_ROOT'] = $documentRoot;
    $_SERVER['SCRIPT_FILENAME'] = $documentRoot . $scriptName;
    $_SERVER['SCRIPT_NAME'] = $scriptName;
    $_SERVER['PATH_INFO'] = $pathInfo;
    $_SERVER['PHP_SELF'] = $scriptName . $pathInfo;
    if ($pathInfo === '') {
        unset($_SERVER['PATH_TRANSLATED']);
    } else {
        $_SERVER['PATH_TRANSLATED'] = $documentRoot . $pathInfo;
    }
    // php-fpm runs a script from its own folder; relative includes and file paths depend on it.
    chdir(dirname($real));
    return $real;
})();
