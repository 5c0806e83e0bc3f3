// The status page's live parts: every few seconds, fetch this page's live part
// (the server renders it, escaped) and swap it in when it changed. No reload.
(function () {
  "use strict";
  var PERIOD = 1500;
  function key(el) {
    if (!el || !el.getAttribute) return null;
    return el.getAttribute("aria-label") || el.id || null;
  }
  function refresh(region) {
    if (document.hidden) return;
    fetch(window.location.href, {
      headers: { "X-Reconciler-Live": "1" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (res) {
      if (res.status === 401) { window.location.reload(); return null; }
      return res.ok ? res.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined || html === region.innerHTML) return;
      var focused = region.contains(document.activeElement) ? key(document.activeElement) : null;
      region.innerHTML = html;
      if (focused) {
        var again = Array.prototype.find.call(
          region.querySelectorAll("a, button, input, textarea, select"),
          function (el) { return key(el) === focused; });
        if (again) again.focus();
      }
      region.setAttribute("data-refreshed", String(Date.now()));
    }).catch(function () { /* the next tick tries again */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-live]");
    if (!region) return;
    window.setInterval(function () { refresh(region); }, PERIOD);
  });
})();
