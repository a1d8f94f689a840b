// Submits the one form of a page that carries a protocol message to
// another site (a SAML logout message over HTTP-POST). Without script the
// person presses Continue.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("autopost");
  if (f) { f.submit(); }
});
