// Progressive enhancement of the portal; without this file every part of
// it works (its forms post, the search form filters on the server).
//
// A card is a list item: its role button (name="grant"), then a line with
// the role's /go link and its pin button. The account it is in is the
// heading of its <details> (pinned and recently used cards name it in
// their button, and carry their search text in data-search).
"use strict";

// cardName is "Administrator in Team 000" for a card.
function cardName(li) {
  var role = li.querySelector("button[name=grant] b");
  var acct = li.closest("details");
  var where = acct ? acct.querySelector("summary h2").firstChild : li.querySelector("button[name=grant] small:last-of-type");
  return (role ? role.textContent : "") + (where ? " in " + where.textContent.trim() : "");
}

// Names: every pin button says which role it pins, for screen readers.
// Copy: every role's "Link" (its /go deep link) becomes a "Copy link"
// button that puts the absolute link on the clipboard and says so. Without
// a clipboard (an http page that is not localhost), the link stays visible
// to copy by hand.
document.addEventListener("DOMContentLoaded", function () {
  var links = document.querySelectorAll("#portal .roles a[href^='/go?']");
  document.querySelectorAll("#portal .roles button[form=pins]").forEach(function (b) {
    b.setAttribute("aria-label", b.textContent + " " + cardName(b.closest("li")));
  });
  var status = document.getElementById("copy-status");
  var say = function (msg) { if (status) { status.textContent = msg; } };
  var copyable = window.isSecureContext && navigator.clipboard;
  links.forEach(function (a) {
    var name = cardName(a.closest("li"));
    if (!copyable) { a.setAttribute("aria-label", "Link to " + name); return; }
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy-link";
    b.textContent = "Copy link";
    b.setAttribute("aria-label", "Copy link to " + name);
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
// in a card's text: its account's (id, alias, label: the data-search of
// its <details>) and its own (role label, name and description), or its
// data-search outside an account. A page the server already filtered holds
// only its matches: a search that is not narrower goes to the server.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("role-search-form");
  var input = document.getElementById("role-search");
  var count = document.getElementById("role-count");
  var pins = document.getElementById("pins");
  if (!form || !input) { return; }
  var filtered = (form.getAttribute("data-filtered") || "").toLowerCase();
  var cards = Array.prototype.slice.call(document.querySelectorAll("#portal .roles li"));
  var texts = null; // each card's search text, read on the first search
  var inAccount = cards.map(function (li) { return li.closest("#accounts") !== null; });
  var groups = Array.prototype.slice.call(document.querySelectorAll("#accounts > details, section.role-group"));
  var wasOpen = groups.map(function (g) { return g.open; });
  var total = inAccount.filter(Boolean).length;
  var timer = 0;
  var openUpTo = 25;
  var textOf = function (li) {
    if (li.dataset.search) { return li.dataset.search; }
    var acct = li.closest("details");
    var desc = li.querySelector(".desc");
    return ((acct ? acct.dataset.search : "") + " " + li.querySelector("button[name=grant]").textContent + " " + (desc ? desc.textContent : "")).toLowerCase();
  };
  var keepQuery = function (q) {
    if (!pins) { return; }
    var f = pins.querySelector("input[name=q]");
    if (!f) { f = document.createElement("input"); f.type = "hidden"; f.name = "q"; pins.appendChild(f); }
    f.value = q;
  };
  var apply = function () {
    var q = input.value.trim().toLowerCase();
    if (filtered && q.indexOf(filtered) < 0) { form.submit(); return; }
    if (!texts) { texts = cards.map(textOf); }
    var terms = q.split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (li, i) {
      var ok = terms.every(function (t) { return texts[i].indexOf(t) >= 0; });
      li.hidden = !ok;
      if (ok && inAccount[i]) { shown++; }
    });
    // Accounts with a match open when there are few of them (a short
    // search matches hundreds: they stay as they were, the others hidden).
    var any = groups.map(function (g) { return g.querySelector(".roles li:not([hidden])") !== null; });
    var open = terms.length > 0 && any.filter(Boolean).length <= openUpTo;
    groups.forEach(function (g, i) {
      g.hidden = !any[i];
      if (g.tagName === "DETAILS") { g.open = open || wasOpen[i]; }
    });
    if (count) {
      count.textContent = terms.length ? shown + " of " + total + " roles match \u201c" + input.value.trim() + "\u201d." : total + " roles. Pick one to open the AWS console as it.";
    }
    keepQuery(input.value.trim());
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
