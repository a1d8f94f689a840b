// Progressive enhancement only: every admin action works without this file.
"use strict";
document.addEventListener("submit", function (ev) {
  var f = ev.target;
  var msg = f && f.getAttribute && f.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { ev.preventDefault(); }
});
document.addEventListener("click", function (ev) {
  var b = ev.target.closest && ev.target.closest("[data-copy]");
  if (!b || !navigator.clipboard) { return; }
  var el = document.getElementById(b.getAttribute("data-copy"));
  navigator.clipboard.writeText(el.textContent.trim()).then(function () { b.textContent = "Copied"; });
});
