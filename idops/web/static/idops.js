// Progressive enhancement only: every page works without this file.
// 1. "Copy code" buttons (shown only where the Clipboard API exists); they copy the code without the
//    spaces that group it for reading.
// 2. Focus the error summary after a failed form post, so screen readers announce it; its links move
//    focus to their field.
// 3. The bulk request form: "add row" adds a row in place (without this file it posts and the page comes
//    back one row longer); rows copied from a spreadsheet and pasted into a cell fill that row and the
//    ones below (tab-separated columns, or semicolons), adding rows up to the form's maximum.
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
  var grid = document.querySelector("table[data-bulk-grid]");
  if (grid) {
    var body = grid.tBodies[0];
    var max = parseInt(grid.getAttribute("data-max"), 10) || 50;
    var addRow = function () {
      var rows = body.querySelectorAll("tr.bulk-row");
      if (rows.length >= max) { return null; }
      var row = rows[rows.length - 1].cloneNode(true);
      var n = rows.length + 1;
      row.querySelector(".bulk-n").textContent = String(n);
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, String(n)));
      });
      body.appendChild(row);
      return row;
    };
    var add = document.getElementById("add-row");
    if (add) {
      add.addEventListener("click", function (event) {
        event.preventDefault();
        var row = addRow();
        if (row) { row.querySelector("input").focus(); }
      });
    }
    body.addEventListener("paste", function (event) {
      var input = event.target;
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (!input.matches("input") || !/[\t\n;]/.test(text.trim())) { return; }
      event.preventDefault();
      var row = input.closest("tr");
      var first = Array.prototype.indexOf.call(row.querySelectorAll("input"), input);
      text.replace(/\r/g, "").split("\n").filter(function (line) { return line.trim(); }).forEach(function (line, i) {
        var cells = line.indexOf("\t") >= 0 ? line.split("\t") : line.split(";");
        var target = i === 0 ? row : (row && (row.nextElementSibling || addRow()));
        row = target;
        if (!target) { return; }
        var inputs = target.querySelectorAll("input");
        cells.forEach(function (cell, j) {
          if (inputs[first + j]) { inputs[first + j].value = cell.trim(); }
        });
      });
    });
  }
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
