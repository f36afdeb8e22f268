<?php
/**
 * WordPress's configuration for a lamp project (written by `lamp init --wordpress`; lamp keeps it
 * up to date and never overwrites a copy you edited). Everything comes from the environment the
 * function runs with, in Lambda and under `lamp dev`: nothing secret is in this file.
 *
 * Your own settings: lamp.json's "environment", read here with getenv(), or a wp-config-local.php
 * beside this file (loaded when present; keep secrets out of the repository).
 */

// The database lamp gives the function: Aurora in AWS, the project's MariaDB under `lamp dev`.
define('DB_NAME', getenv('DB_DATABASE') ?: '');
define('DB_USER', getenv('DB_USERNAME') ?: '');
define('DB_PASSWORD', getenv('DB_PASSWORD') ?: '');
define('DB_HOST', getenv('DB_HOST') . ':' . getenv('DB_PORT'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
// TLS, verified against MYSQL_ATTR_SSL_CA by wp-content/db.php (Aurora and the local server refuse plain connections).
if (getenv('MYSQL_ATTR_SSL_CA')) define('MYSQL_CLIENT_FLAGS', MYSQLI_CLIENT_SSL);

/*
 * Keys and salts: WP_AUTH_KEY... from the environment when set (a secret store), else derived from the
 * stage's database password, which the stack generates and keeps in Secrets Manager (the local
 * server's is in .lamp/): a different set per stage, never in the repository. Changing the password
 * logs everyone out.
 */
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $lamp_name) {
    define($lamp_name, getenv('WP_' . $lamp_name) ?: hash_hmac('sha256', 'wordpress ' . $lamp_name, DB_PASSWORD . '|' . DB_NAME . '|' . DB_HOST));
}
unset($lamp_name);

$table_prefix = getenv('WP_TABLE_PREFIX') ?: 'wp_';

// The code is read-only in Lambda (and under `lamp dev` unless --writable): plugins and themes are
// installed locally with `lamp dev --writable`, committed, and deployed.
define('DISALLOW_FILE_MODS', !getenv('LAMP_CODE_WRITABLE'));
if (getenv('LAMP_CODE_WRITABLE')) define('FS_METHOD', 'direct');
// Due cron events run on a schedule, not on page views (a loopback request per visit in Lambda).
define('DISABLE_WP_CRON', true);
// The only writable folder in Lambda: /tmp (one per instance; lamp dev gives each instance its own).
define('WP_TEMP_DIR', sys_get_temp_dir());
define('WP_DEBUG', (bool) getenv('WP_DEBUG'));
define('WP_DEBUG_LOG', false);

if (is_file(__DIR__ . '/wp-config-local.php')) require __DIR__ . '/wp-config-local.php';

if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
