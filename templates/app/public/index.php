<?php
// The front controller: API Gateway sends every request that is not under /assets/ here,
// the way an .htaccess rewrite would send it to index.php.
declare(strict_types=1);

$name = isset($_GET['name']) && is_string($_GET['name']) && $_GET['name'] !== '' ? $_GET['name'] : 'world';
$runtime = getenv('BREF_RUNTIME') ?: (PHP_SAPI === 'fpm-fcgi' ? 'php-fpm (local)' : PHP_SAPI);
// Lambda's runtime API exists only in Lambda (`lamp dev` sets the other Lambda variables too).
$inLambda = getenv('AWS_LAMBDA_RUNTIME_API') !== false;
// The viewer's host: the runtime layer (php/lamp-runtime.php) puts it here behind CloudFront.
$host = $_SERVER['HTTP_HOST'] ?? 'localhost';

header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{name}} · serverless LAMP</title>
    <link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main>
    <img src="/assets/logo.svg" alt="" width="96" height="96">
    <h1>Hello, <?= htmlspecialchars($name, ENT_QUOTES) ?>!</h1>
    <p>This page is PHP <?= PHP_VERSION ?> running in the <strong><?= htmlspecialchars($runtime, ENT_QUOTES) ?></strong>
        runtime (SAPI <code><?= PHP_SAPI ?></code>), <?= $inLambda ? 'on AWS Lambda' : 'on your machine under <code>lamp dev</code>' ?>.</p>
    <form method="get" action="/">
        <label>Your name <input name="name" value="<?= htmlspecialchars($name, ENT_QUOTES) ?>"></label>
        <button type="submit">Say hello</button>
    </form>
    <dl>
        <dt>Host</dt><dd><?= htmlspecialchars($host, ENT_QUOTES) ?></dd>
        <dt>Request</dt><dd><code><?= htmlspecialchars($_SERVER['REQUEST_METHOD'] . ' ' . $_SERVER['REQUEST_URI'], ENT_QUOTES) ?></code></dd>
        <dt>Served at</dt><dd><?= gmdate('Y-m-d H:i:s') ?> UTC</dd>
    </dl>
    <p class="note">Static files such as the stylesheet and the logo come from <code>/assets/</code>: an S3 bucket behind CloudFront in production.</p>
</main>
</body>
</html>
