<?php
/*
 * serverless-lamp console handler: the handler of the project's console function, and what
 * `lamp run` runs locally. `php lamp/console.php <script> [args...]` runs the project's <script>
 * (artisan, bin/console, scripts/cleanup.php...) with exactly those arguments, in the project
 * folder, and exits with its exit code.
 *
 * In Lambda, Bref's console runtime (BREF_RUNTIME=console) runs `php lamp/console.php <event>`
 * through a shell; lamp quotes each argument for that shell, so each one arrives here as one
 * $argv entry and nothing in it is run by the shell. From here on no shell is involved: the
 * script replaces this process (pcntl_exec), or runs as a child (for a named run, whose exit code
 * is reported, or when pcntl is missing).
 *
 * Written by lamp (lamp/console.php in the project); `lamp run` and `lamp deploy` put it back when
 * it is missing.
 */

$projectRoot = dirname(__DIR__);
$arguments = array_slice($argv, 1);

// `lamp run --remote` (and release) name the run: the output starts with a line naming it, so lamp
// finds this invocation's lines in the function's log while it runs, and ends with its exit code,
// which Bref does not return for a failed command. lamp removes both lines from what it shows.
$run = null;
if (isset($arguments[0]) && str_starts_with($arguments[0], '--lamp-run=')) {
    $run = substr(array_shift($arguments), strlen('--lamp-run='));
    echo "lamp-run $run\n";
}

$script = $arguments[0] ?? '';
if ($script === '') {
    fwrite(STDERR, "lamp console: no script given. Usage: lamp run -- <script> [args...], e.g. lamp run -- artisan migrate --force\n");
    exit(2);
}
// Only the project's own scripts run: a path is taken relative to the project folder.
$path = realpath($projectRoot . '/' . ltrim($script, '/'));
$root = realpath($projectRoot);
if ($path === false || !is_file($path) || $root === false || !str_starts_with($path, $root . DIRECTORY_SEPARATOR)) {
    fwrite(STDERR, "lamp console: no script $script in the project (paths are relative to the project folder, e.g. artisan or bin/console).\n");
    exit(127);
}

if (!chdir($root)) {
    fwrite(STDERR, "lamp console: cannot enter the project folder $root.\n");
    exit(1);
}
// Flushed before the process is replaced: anything echoed above would otherwise be lost.
flush();
// As `php artisan migrate` would: the script's $argv[0] is its path relative to the project.
$command = [substr($path, strlen($root) + 1), ...array_slice($arguments, 1)];
if ($run === null && function_exists('pcntl_exec')) {
    // Two arguments only: with a third, even an empty one, PHP would give the script an empty environment.
    @pcntl_exec(PHP_BINARY, $command);
    // Only reached when the exec failed; fall back to a child process.
}
$process = proc_open([PHP_BINARY, ...$command], [STDIN, STDOUT, STDERR], $pipes, $root);
if ($process === false) {
    fwrite(STDERR, "lamp console: cannot start " . PHP_BINARY . ".\n");
    exit(1);
}
$exitCode = proc_close($process);
if ($run !== null) {
    echo "\nlamp-run $run exit $exitCode\n";
}
exit($exitCode);
