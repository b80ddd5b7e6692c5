// Show the fields the chosen subject / purpose needs (equipment: unit value, quantity, sharing platform;
// expert fees: title and days); hidden fields are not sent to the dry run or the submission.
(function () {
  function sync() {
    var form = document.getElementById("expense-form");
    if (!form) return;
    var subject = form.querySelector("[name=subject]").value;
    var purpose = form.querySelector("[name=purpose]").value;
    form.querySelectorAll("[data-when-subject],[data-when-purpose]").forEach(function (el) {
      var s = el.getAttribute("data-when-subject"), p = el.getAttribute("data-when-purpose");
      var show = (s && s.split(" ").indexOf(subject) >= 0) || (p && p.split(" ").indexOf(purpose) >= 0);
      el.hidden = !show;
      el.querySelectorAll("input,select").forEach(function (i) { i.disabled = !show; });
    });
  }
  document.addEventListener("change", function (e) { if (e.target.closest("#expense-form")) sync(); });
  document.addEventListener("DOMContentLoaded", sync);
  sync();
})();
