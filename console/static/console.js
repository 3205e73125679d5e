// The Activity page reloads its tables every few seconds without reloading the page; the
// region is aria-live, so screen readers announce what changed.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var region = document.querySelector("[data-live]");
  if (!region) {
    return;
  }
  var last = "";
  function poll() {
    fetch(region.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) {
          throw new Error("HTTP " + res.status);
        }
        return res.text();
      })
      .then(function (html) {
        if (html !== last) {
          last = html;
          region.innerHTML = html;
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
});
