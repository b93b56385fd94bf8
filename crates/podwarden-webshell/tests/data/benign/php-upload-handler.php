<?php
// Upload handler with an extension whitelist and a generated name.
$allowed = array('jpg', 'png', 'gif');
if (isset($_FILES['avatar']) && $_FILES['avatar']['error'] === UPLOAD_ERR_OK) {
    $ext = strtolower(pathinfo($_FILES['avatar']['name'], PATHINFO_EXTENSION));
    if (!in_array($ext, $allowed, true)) {
        http_response_code(400);
        exit('bad type');
    }
    $target = __DIR__ . '/uploads/' . bin2hex(random_bytes(16)) . '.' . $ext;
    move_uploaded_file($_FILES['avatar']['tmp_name'], $target);
    echo 'stored';
}
