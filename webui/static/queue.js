// The approval queue's keyboard: j/k move, x selects, a approves and r rejects the selection (or the current
// row), / goes to the reason, o opens the expense. The counter says how many are selected.
(function () {
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll("#queue tbody tr[data-id]"));
  var reason = document.getElementById("bulk-reason");
  var current = -1;
  function checks() { return Array.prototype.slice.call(form.querySelectorAll(".row-check")); }
  function count() {
    var n = checks().filter(function (c) { return c.checked; }).length;
    var out = document.querySelector("#selected-count strong");
    if (out) out.textContent = n;
    return n;
  }
  function move(i) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("table-active");
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows[current].classList.add("table-active");
    rows[current].focus();
  }
  function decide(decision) {
    if (!reason) return;
    if (!count() && current >= 0) { var c = rows[current].querySelector(".row-check"); if (c) c.checked = true; count(); }
    if (!count()) return;
    if (!reason.value.trim()) { reason.focus(); reason.classList.add("is-invalid"); return; }
    document.getElementById(decision === "approve" ? "bulk-approve" : "bulk-reject").click();
  }
  var all = document.getElementById("select-all");
  if (all) all.addEventListener("change", function () { checks().forEach(function (c) { c.checked = all.checked; }); count(); });
  form.addEventListener("change", function (e) { if (e.target.classList.contains("row-check")) count(); });
  form.addEventListener("submit", function (e) {
    var btn = e.submitter;
    if (btn && btn.getAttribute("formaction")) return;            // a row's own buttons decide that row
    if (!count()) { e.preventDefault(); return; }
    if (reason && !reason.value.trim()) { e.preventDefault(); reason.focus(); reason.classList.add("is-invalid"); }
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === "INPUT" && t.type !== "checkbox" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.key === "j") { move(current + 1); e.preventDefault(); }
    else if (e.key === "k") { move(current - 1); e.preventDefault(); }
    else if (e.key === "x" && current >= 0) { var c = rows[current].querySelector(".row-check"); if (c) { c.checked = !c.checked; count(); } }
    else if (e.key === "a") { decide("approve"); e.preventDefault(); }
    else if (e.key === "r") { decide("reject"); e.preventDefault(); }
    else if (e.key === "/" && reason) { reason.focus(); e.preventDefault(); }
    else if (e.key === "o" && current >= 0) { var a = rows[current].querySelector("a.open"); if (a) a.click(); }
  });
  count();
})();
