// Podwarden console: dialogs, "select all", copy buttons, the time zone switch.
// Everything here is progressive: pages work (minus dialogs) without it.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  // Dialogs: [data-open=ID] opens <dialog id=ID> (optionally filling fields first with
  // data-fill="fieldId=value"); [data-close] closes the enclosing dialog.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open]");
    if (opener) {
      var dialog = byId(opener.getAttribute("data-open"));
      var fill = opener.getAttribute("data-fill");
      if (fill) {
        var eq = fill.indexOf("=");
        var field = byId(fill.slice(0, eq));
        if (field) { field.value = fill.slice(eq + 1); }
      }
      if (dialog && typeof dialog.showModal === "function") {
        updateCounts();
        dialog.showModal();
        var first = dialog.querySelector("input:not([type=hidden]):not([disabled]), textarea, select, button:not([data-close])");
        if (first) { first.focus(); }
      }
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { open.close(); }
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = byId(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () {
          copy.setAttribute("data-copied", "true");
        });
      }
      return;
    }
    var tz = event.target.closest("[data-tz]");
    if (tz) {
      if (tz.getAttribute("data-tz") === "browser") {
        var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
        document.cookie = "pw_tz=" + encodeURIComponent(zone) + "; Path=/; Max-Age=31536000; SameSite=Strict";
      } else {
        document.cookie = "pw_tz=; Path=/; Max-Age=0; SameSite=Strict";
      }
      window.location.reload();
    }
  });

  // "Select all on this page" boxes: data-select-all=NAME ticks every box named NAME.
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (all) {
      var name = all.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    }
    updateCounts();
  });

  // Counters of ticked boxes: <span data-selected-count=NAME>.
  function updateCounts() {
    document.querySelectorAll("[data-selected-count]").forEach(function (counter) {
      var name = counter.getAttribute("data-selected-count");
      counter.textContent = String(document.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked').length);
    });
  }

  // Clicking the backdrop of a dialog closes it.
  document.addEventListener("mousedown", function (event) {
    if (event.target.tagName === "DIALOG") {
      var rect = event.target.getBoundingClientRect();
      var inside = event.clientX >= rect.left && event.clientX <= rect.right &&
        event.clientY >= rect.top && event.clientY <= rect.bottom;
      if (!inside) { event.target.close(); }
    }
  });
})();
