<?php
// Front controller: the action name picks a method of the controller, never a function.
require_once __DIR__ . '/bootstrap.php';

$controller = new PageController($db);
$action = isset($_GET['action']) ? $_GET['action'] : 'index';
if (!preg_match('/^[a-z_]+$/', $action) || !method_exists($controller, $action)) {
    $action = 'index';
}
$page = isset($_GET['page']) ? intval($_GET['page']) : 1;
echo $controller->$action($page);

$ids = isset($_POST['ids']) ? (array) $_POST['ids'] : array();
$ids = array_map('intval', $ids);
usort($ids, function ($a, $b) { return $a - $b; });
