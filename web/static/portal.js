// Progressive enhancement only: every role's "Link to this role" (its /go
// deep link, absolute) becomes a "Copy link" button that puts the link on
// the clipboard and says so to screen readers. Without this file, or
// without a clipboard (an http page that is not localhost), the link
// stays visible to copy by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (!window.isSecureContext || !navigator.clipboard) { return; }
  var status = document.getElementById("copy-status");
  var say = function (msg) { if (status) { status.textContent = msg; } };
  document.querySelectorAll("a[data-copy-link]").forEach(function (a) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy-link";
    b.textContent = "Copy link";
    b.setAttribute("aria-label", a.getAttribute("data-copy-label") || "Copy link");
    b.setAttribute("data-href", a.href);
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(a.href).then(function () {
        b.textContent = "Link copied";
        say("Link copied: " + a.href);
        window.setTimeout(function () { b.textContent = "Copy link"; }, 4000);
      }, function () {
        // Refused (permissions): show the link to copy by hand.
        a.hidden = false;
        say("The browser did not allow copying. The link is shown next to the button: copy it from there.");
      });
    });
    a.parentNode.insertBefore(b, a);
    a.hidden = true;
  });
});
