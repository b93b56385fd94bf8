<?php
// Admin diagnostics page: shows server facts, runs fixed commands only.
if (!current_user_can('manage_options')) {
    wp_die('forbidden');
}
$rows = array(
    'PHP' => PHP_VERSION,
    'OS' => php_uname('s') . ' ' . php_uname('r'),
    'Disabled functions' => ini_get('disable_functions'),
    'Free disk' => disk_free_space('/'),
);
$uptime = function_exists('exec') ? exec('uptime') : 'n/a';
foreach ($rows as $name => $value) {
    printf('<tr><th>%s</th><td>%s</td></tr>', esc_html($name), esc_html($value));
}
echo esc_html($uptime);
echo esc_html(isset($_GET['tab']) ? sanitize_key($_GET['tab']) : 'general');
