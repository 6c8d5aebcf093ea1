// colcw: keep server-rendered panels fresh without a page reload.
// A panel with data-colcw-refresh="<url>" is fetched again every data-colcw-every seconds (while the
// page is visible) and replaced when its HTML changed; a panel rendered without the attribute stops.
(function () {
  "use strict";

  function watch(panel) {
    var url = panel.getAttribute("data-colcw-refresh");
    var every = Math.max(1, parseFloat(panel.getAttribute("data-colcw-every")) || 5) * 1000;
    var busy = false;

    function later() { window.setTimeout(tick, every); }

    function tick() {
      if (document.hidden || busy || panel.contains(document.activeElement) && document.activeElement !== document.body) {
        return later();  // not while hidden, nor while someone works in the panel
      }
      busy = true;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (resp) { if (!resp.ok) { throw new Error("HTTP " + resp.status); } return resp.text(); })
        .then(function (html) {
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var fresh = holder.content.firstElementChild;
          if (fresh && fresh.id === panel.id && fresh.outerHTML !== panel.outerHTML) {
            panel.replaceWith(fresh);
            panel = fresh;
          }
          busy = false;
          if (panel.hasAttribute("data-colcw-refresh")) { later(); }
        })
        .catch(function () { busy = false; later(); });
    }

    later();
  }

  document.querySelectorAll("[data-colcw-refresh]").forEach(watch);
})();
