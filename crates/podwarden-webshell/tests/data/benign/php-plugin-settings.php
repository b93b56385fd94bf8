<?php
/**
 * Settings page of a small plugin. Look-alike of real application code: request input is
 * sanitised, base64 is decoded into data (never evaluated), commands are fixed.
 */
if (!defined('ABSPATH')) {
    exit;
}

function myplugin_logo_png() {
    return base64_decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==');
}

function myplugin_save() {
    if (!isset($_POST['myplugin_nonce']) || !wp_verify_nonce($_POST['myplugin_nonce'], 'save')) {
        return;
    }
    $title = sanitize_text_field(wp_unslash($_POST['title']));
    $count = absint($_POST['count']);
    update_option('myplugin_title', $title);
    update_option('myplugin_count', $count);
}

function myplugin_git_revision() {
    $dir = escapeshellarg(dirname(__FILE__));
    return trim(shell_exec('git -C ' . $dir . ' rev-parse --short HEAD'));
}

function myplugin_export($format) {
    $allowed = array('csv', 'json');
    $format = in_array($_GET['format'], $allowed, true) ? $_GET['format'] : 'csv';
    $callback = 'myplugin_export_' . $format;
    return call_user_func($callback);
}

add_action('admin_post_myplugin_save', 'myplugin_save');
