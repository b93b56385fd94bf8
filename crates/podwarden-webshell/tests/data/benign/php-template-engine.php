<?php
// A template engine compiles templates to PHP and evaluates the compiled code.
class TinyTemplate
{
    private $dir;

    public function __construct($dir)
    {
        $this->dir = $dir;
    }

    public function render($name, array $vars)
    {
        $source = file_get_contents($this->dir . '/' . basename($name) . '.tpl');
        $compiled = preg_replace('/\{\{\s*(\w+)\s*\}\}/', '<?php echo htmlspecialchars($$1); ?>', $source);
        extract($vars, EXTR_SKIP);
        ob_start();
        eval('?>' . $compiled);
        return ob_get_clean();
    }

    public function check($value)
    {
        assert(is_string($value));
        assert($value !== '');
        return $value;
    }
}
