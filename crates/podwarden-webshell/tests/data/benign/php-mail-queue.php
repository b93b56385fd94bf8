<?php
// Background mail queue runner: proc_open of a fixed binary with escaped arguments.
function send_queued($message, $recipient) {
    $cmd = '/usr/sbin/sendmail -t -i -f ' . escapeshellarg($recipient);
    $proc = proc_open($cmd, array(0 => array('pipe', 'r')), $pipes);
    fwrite($pipes[0], $message);
    fclose($pipes[0]);
    return proc_close($proc);
}
$to = filter_var($_POST['to'], FILTER_VALIDATE_EMAIL);
if ($to) {
    send_queued("Subject: hello\n\nhi", $to);
}
