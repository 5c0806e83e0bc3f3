// The status page's live part: every few seconds, fetch this page's live part (rendered
// and escaped by the server) and patch the differences into the page in place, so that
// nothing reloads, and buttons, links and focus stay where they are.
(function () {
  "use strict";
  var PERIOD = 1500;

  function morph(from, to) {
    if (from.nodeType !== to.nodeType || from.nodeName !== to.nodeName) {
      from.parentNode.replaceChild(to.cloneNode(true), from);
      return;
    }
    if (from.nodeType !== 1) {
      if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
      return;
    }
    var i;
    for (i = from.attributes.length - 1; i >= 0; i--) {
      var name = from.attributes[i].name;
      if (!to.hasAttribute(name)) from.removeAttribute(name);
    }
    for (i = 0; i < to.attributes.length; i++) {
      var attr = to.attributes[i];
      if (from.getAttribute(attr.name) !== attr.value) from.setAttribute(attr.name, attr.value);
    }
    children(from, to);
  }

  function children(from, to) {
    var old = Array.prototype.slice.call(from.childNodes);
    var now = Array.prototype.slice.call(to.childNodes);
    for (var i = 0; i < Math.max(old.length, now.length); i++) {
      if (i >= old.length) from.appendChild(now[i].cloneNode(true));
      else if (i >= now.length) from.removeChild(old[i]);
      else morph(old[i], now[i]);
    }
  }

  function refresh(region, state) {
    if (document.hidden || state.busy) return;
    state.busy = true;
    fetch(window.location.href, {
      headers: { "X-Reconciler-Live": "1" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (res) {
      if (res.status === 401) { window.location.reload(); return null; }
      return res.ok ? res.text() : null;
    }).then(function (html) {
      state.busy = false;
      if (typeof html !== "string" || html === state.last) return;
      state.last = html;
      var parsed = document.createElement("template");
      parsed.innerHTML = html;
      children(region, parsed.content);
    }).catch(function () { state.busy = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-live]");
    if (!region) return;
    var state = { busy: false, last: null };
    window.setInterval(function () { refresh(region, state); }, PERIOD);
  });
})();
