<?php
/**
 * Plugin Name: lamp
 * Description: WordPress in AWS Lambda, as lamp deploys it: media in the stack's S3 bucket, mail through Amazon SES, plugin and theme changes made locally. Written and kept up to date by lamp (lamp/ beside this file holds the rest).
 */

if (!defined('ABSPATH')) exit;

// lamp's AWS client lives outside the document root, in the project's lamp/ folder (no URL reaches it).
$lamp_root = getenv('LAMBDA_TASK_ROOT') ?: dirname(ABSPATH);
if (is_file($lamp_root . '/lamp/aws.php')) require_once $lamp_root . '/lamp/aws.php';
unset($lamp_root);

require_once __DIR__ . '/lamp/uploads.php';
require_once __DIR__ . '/lamp/site.php';
