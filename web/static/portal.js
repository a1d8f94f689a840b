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

// Search as you type: the search form (GET /?q=, filtered on the server
// without JavaScript) filters the cards in place. Every word must appear
// in a card's data-search (account id, alias and label, role label, name
// and description). A page the server already filtered holds only its
// matches: a search that is not narrower goes to the server.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("role-search-form");
  var input = document.getElementById("role-search");
  var count = document.getElementById("role-count");
  if (!form || !input) { return; }
  var filtered = (form.getAttribute("data-filtered") || "").toLowerCase();
  var cards = Array.prototype.slice.call(document.querySelectorAll("li.role[data-search]"));
  var texts = cards.map(function (li) { return li.getAttribute("data-search"); });
  var groups = Array.prototype.slice.call(document.querySelectorAll("details.account, section.role-group"));
  var wasOpen = groups.map(function (g) { return g.open; });
  var total = cards.filter(function (li) { return li.closest("details.account"); }).length;
  var timer = 0;
  var apply = function () {
    var q = input.value.trim().toLowerCase();
    if (filtered && q.indexOf(filtered) < 0) { form.submit(); return; }
    var terms = q.split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (li, i) {
      var ok = terms.every(function (t) { return texts[i].indexOf(t) >= 0; });
      li.hidden = !ok;
      if (ok && li.closest("details.account")) { shown++; }
    });
    groups.forEach(function (g, i) {
      var any = g.querySelector("li.role:not([hidden])");
      g.hidden = !any;
      if (g.tagName === "DETAILS") { g.open = terms.length ? true : wasOpen[i]; }
    });
    if (count) {
      count.textContent = terms.length ? shown + " of " + total + " roles match \u201c" + input.value.trim() + "\u201d." : total + " roles. Pick one to open the AWS console as it.";
    }
    var url = new URL(window.location.href);
    if (terms.length) { url.searchParams.set("q", input.value.trim()); } else { url.searchParams.delete("q"); }
    window.history.replaceState(null, "", url.pathname + url.search);
  };
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 80);
  });
  form.addEventListener("submit", function (ev) {
    if (!filtered || input.value.trim().toLowerCase().indexOf(filtered) >= 0) { ev.preventDefault(); apply(); }
  });
});
