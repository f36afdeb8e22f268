<?php
/**
 * What a server would give WordPress and Lambda does not: pretty permalinks (WordPress only offers
 * them to servers it recognises, and Bref's SERVER_SOFTWARE is "bref"), mail from lamp.json's
 * mail.from, and a clear word when someone tries to change plugins or themes on read-only code.
 */

if (!defined('ABSPATH')) exit;

// lamp's router does what nginx's try_files does: every URL that is no file reaches index.php.
add_filter('got_url_rewrite', '__return_true');

// SES sends only from a verified identity: mail.from (LAMP_MAIL_FROM), not wordpress@<host>.
add_filter('wp_mail_from', function ($from) {
    $configured = getenv('LAMP_MAIL_FROM');
    return $configured ?: $from;
});

/** The way to add or update a plugin or theme when the code is read-only. */
function lamp_file_mods_message(): string
{
    return 'Plugins, themes and WordPress itself are part of this site\'s code, which is read-only in AWS Lambda (and under <code>lamp dev</code>). '
        . 'To add or update one: run <code>lamp dev --writable</code>, install or update it in this dashboard there, commit the files, and <code>lamp deploy</code>.';
}

if (defined('DISALLOW_FILE_MODS') && DISALLOW_FILE_MODS) {
    // These screens would only say "Sorry, you are not allowed…": say why and what to do instead.
    $lamp_refuse = function () {
        global $pagenow;
        if (!in_array($pagenow, ['plugin-install.php', 'theme-install.php', 'update-core.php', 'plugin-editor.php', 'theme-editor.php', 'update.php'], true)) return;
        wp_die('<p>' . lamp_file_mods_message() . '</p>', 'Read-only code', ['response' => 403, 'back_link' => true]);
    };
    // WordPress refuses these screens from its menu check, before their load-* action.
    add_action('admin_page_access_denied', $lamp_refuse);
    add_action('admin_init', $lamp_refuse);
    unset($lamp_refuse);
    add_action('admin_notices', function () {
        $screen = function_exists('get_current_screen') ? get_current_screen() : null;
        if (!$screen || !in_array($screen->id, ['plugins', 'themes', 'plugins-network', 'themes-network'], true)) return;
        echo '<div class="notice notice-info"><p>' . lamp_file_mods_message() . '</p></div>';
    });
}
