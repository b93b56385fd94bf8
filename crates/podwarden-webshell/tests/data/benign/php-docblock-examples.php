<?php
/**
 * Reads the submitted value.
 *
 * Values come from `$_POST['value']` and, for legacy clients, `$_GET['value']`.
 * Never pass them to `system()` or `eval()` directly.
 */
function read_value() {
    $value = isset($_POST['value']) ? wp_unslash($_POST['value']) : '';
    return sanitize_text_field($value);
}
