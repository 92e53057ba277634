// Filters the KEP ledgers as the search box changes, and sorts tables by a clicked heading.
(function () {
  "use strict";
  var box = document.getElementById("kep-search");
  var count = document.getElementById("kep-count");
  var keps = Array.prototype.slice.call(document.querySelectorAll("details.kep"));
  function filter() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    keps.forEach(function (kep) {
      var text = kep.getAttribute("data-search") || "";
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      kep.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = String(shown);
  }
  if (box) {
    box.addEventListener("input", filter);
    var q = new URLSearchParams(window.location.search).get("q");
    if (q) { box.value = q; filter(); }
  }
  function key(cell) {
    var sort = cell.getAttribute("data-sort");
    var text = sort !== null ? sort : cell.textContent.trim();
    var n = parseFloat(text.replace("%", ""));
    return isNaN(n) ? text.toLowerCase() : n;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
          return ascending ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
