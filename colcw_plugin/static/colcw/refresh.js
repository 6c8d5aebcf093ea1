// colcw: keep server-rendered panels fresh without a page reload.
// A panel with data-colcw-refresh="<url>" is fetched again every data-colcw-every seconds (while the
// page is visible) and replaced when its HTML changed; a panel rendered without the attribute stops.
// Panels the page loads after it is shown (htmx, hx-trigger="load") are watched once they arrive.
(function () {
  "use strict";

  var watched = new WeakSet();

  function watch(panel) {
    if (watched.has(panel)) { return; }
    watched.add(panel);
    var shown = panel.outerHTML;  // what the server last sent (attributes set here are not compared)
    var url = panel.getAttribute("data-colcw-refresh");
    var every = Math.max(1, parseFloat(panel.getAttribute("data-colcw-every")) || 5) * 1000;
    var busy = false;

    function later() { window.setTimeout(tick, every); }

    function tick() {
      if (document.hidden || busy || panel.contains(document.activeElement) && document.activeElement !== document.body) {
        return later();  // not while hidden, nor while someone works in the panel
      }
      busy = true;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html", "HX-Request": "true"}})
        .then(function (resp) { if (!resp.ok) { throw new Error("HTTP " + resp.status); } return resp.text(); })
        .then(function (html) {
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var fresh = holder.content.firstElementChild;
          if (fresh && fresh.id === panel.id && fresh.outerHTML !== shown) {
            shown = fresh.outerHTML;
            watched.add(fresh);
            panel.replaceWith(fresh);
            panel = fresh;
            if (window.htmx) { window.htmx.process(fresh); }  // its hx- links (the opportunity picker)
          }
          busy = false;
          if (panel.hasAttribute("data-colcw-refresh")) { later(); }
        })
        .catch(function () { busy = false; later(); });
    }

    later();
  }

  document.querySelectorAll("[data-colcw-refresh]").forEach(watch);
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (elt.matches && elt.matches("[data-colcw-refresh]")) { watch(elt); }
    if (elt.querySelectorAll) { elt.querySelectorAll("[data-colcw-refresh]").forEach(watch); }
  });
})();
