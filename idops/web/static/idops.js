// Progressive enhancement only: every page works without this file.
// 1. "Copy code" buttons (shown only where the Clipboard API exists); they copy the code without the
//    spaces that group it for reading.
// 2. Focus the error summary after a failed form post, so screen readers announce it; its links move
//    focus to their field.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    var status = document.querySelector(button.getAttribute("data-status"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var code = target.getAttribute("data-code") || target.textContent.replace(/\s+/g, "");
      navigator.clipboard.writeText(code).then(function () {
        if (status) { status.textContent = button.getAttribute("data-done") || ""; }
      });
    });
  });
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
    summary.querySelectorAll("a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) { return; }
        event.preventDefault();
        field.focus();
        field.scrollIntoView({ block: "center" });
      });
    });
  }
})();
