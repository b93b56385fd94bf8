// Client-side code: jQuery form serialisation, eval of JSON in old browsers.
(function ($) {
    $.fn.ajaxSubmit = function (options) {
        var qx = $.param(options.data);
        var data = window.JSON ? JSON.parse(options.text) : eval('(' + options.text + ')');
        return this.each(function () { $(this).data('q', qx).data('d', data); });
    };
})(jQuery);
