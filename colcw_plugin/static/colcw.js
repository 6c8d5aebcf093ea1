// colcw's page behaviours, loaded on every host page (extra_js_urls) after htmx.
//
// Every behaviour here improves a page that already works without JavaScript: links and forms
// carry their own URLs and methods, and partial updates are htmx attributes in the templates.
// Elements opt in with data-colcw-* attributes; nothing here knows a page by name.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // What htmx swaps in works at once: htmx wires a swapped-in form's hx-post only when it settles, 20 ms
  // later by default, and Enter pressed in that window (a rep typing fast in the import popup) posted the
  // form as a whole page instead. colcw uses no settle transitions, so settling happens with the swap.
  if (window.htmx) { window.htmx.config.defaultSettleDelay = 0; }

  // htmx requests carry the CSRF token (Flask-WTF reads the X-CSRFToken header).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // <a data-colcw-post>: a link whose action is a POST (its href without JavaScript is a page that
  // asks first). With JavaScript the click posts at once.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-colcw-post]");
    if (!link) { return; }
    event.preventDefault();
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.dataset.colcwPost;
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrfToken();
    form.appendChild(token);
    document.body.appendChild(form);
    if (link.dataset.colcwBusy) { link.textContent = link.dataset.colcwBusy; }
    form.submit();
  });

  // <form data-colcw-confirm="question">: ask before submitting. A form with a button[data-colcw-busy] is sent
  // once: the button shows its busy text, and a second submit while the first is on its way (a double click) is
  // stopped here, in the capture phase, before htmx's own listener on the form would send (or queue) it again.
  function isHtmx(form) {
    return form.matches("[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete],[data-hx-post],[data-hx-get]");
  }
  function settle(form) {  // sendable again: the answer left the form where it was (an error htmx did not swap)
    delete form.dataset.colcwSending;
    var busy = form.querySelector("button[data-colcw-busy]");
    if (busy && busy.dataset.colcwIdle !== undefined) {
      busy.disabled = false; busy.textContent = busy.dataset.colcwIdle;
    }
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset) { return; }
    if (form.dataset.colcwSending) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (form.dataset.colcwConfirm && !window.confirm(form.dataset.colcwConfirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    var busy = form.querySelector && form.querySelector("button[data-colcw-busy]");
    if (busy) {
      form.dataset.colcwSending = "1";  // at once: the next click's submit is already stopped
      if (busy.dataset.colcwIdle === undefined) { busy.dataset.colcwIdle = busy.textContent; }
      // Disabled after the submit has taken the form's values (a disabled submitter would not be sent).
      window.setTimeout(function () { busy.disabled = true; busy.textContent = busy.dataset.colcwBusy; }, 0);
    }
  }, true);
  document.addEventListener("submit", function (event) {
    // Something after the capture phase stopped a plain form: it was not sent, so it may be sent again.
    var form = event.target;
    if (event.defaultPrevented && form.dataset && form.dataset.colcwSending && !isHtmx(form)) { settle(form); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    var xhr = event.detail.xhr;
    if (!form || !form.dataset || !form.dataset.colcwSending || !form.isConnected) { return; }
    if (xhr && xhr.getResponseHeader && xhr.getResponseHeader("HX-Redirect")) { return; }  // leaving the page
    settle(form);
  });
  window.addEventListener("pageshow", function (event) {  // back to a page kept as it was (bfcache)
    if (event.persisted) { document.querySelectorAll("form[data-colcw-sending]").forEach(settle); }
  });

  // Show only the parts of a form that apply: [data-colcw-show="name=value|value2"] is shown while
  // the form's field `name` (radio, checkbox or select) has one of the values.
  function currentValue(form, name) {
    var fields = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "radio" || f.type === "checkbox") {
        if (f.checked) { return f.value; }
      } else {
        return f.value;
      }
    }
    return "";
  }
  function applyShows(root) {
    root.querySelectorAll("[data-colcw-show]").forEach(function (el) {
      var form = el.closest("form");
      if (!form) { return; }
      var rule = el.dataset.colcwShow.split("=");
      var wanted = rule[1].split("|");
      el.hidden = wanted.indexOf(currentValue(form, rule[0])) === -1;
    });
    root.querySelectorAll("[data-colcw-label-when]").forEach(function (el) {
      var form = el.closest("form");
      var rule = el.dataset.colcwLabelWhen.split("=");
      el.textContent = currentValue(form, rule[0]) === rule[1] ? el.dataset.colcwLabelOn : el.dataset.colcwLabelOff;
    });
  }
  // <details data-colcw-open-when="name=value">: opens when the form's field `name` is changed to the value, and folds
  // when it is changed to another; a change of any other field leaves it as it is. (The page decides how it loads.)
  function applyOpens(form, changed) {
    form.querySelectorAll("details[data-colcw-open-when]").forEach(function (el) {
      var rule = el.dataset.colcwOpenWhen.split("=");
      if (changed === rule[0]) { el.open = currentValue(form, rule[0]) === rule[1]; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.form) { applyShows(event.target.form); applyOpens(event.target.form, event.target.name); }
  });

  // <select data-colcw-searchable>: a box above a long list that narrows its options as you type. Narrowing never
  // chooses: only a person picking an option changes the select (what Save sends). The option chosen stays chosen and
  // shown whatever is typed, even when it does not match (the list then shows it with the matches); Enter in the box
  // does not send the form; a text nothing matches says so beside the box.
  function makeSearchable(select) {
    if (select.dataset.colcwSearchReady) { return; }
    select.dataset.colcwSearchReady = "1";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "colcw-searchable-filter";
    box.placeholder = "Type to narrow the list";
    box.setAttribute("aria-label", "Search " + (select.getAttribute("aria-label") || "the list"));
    var none = document.createElement("span");
    none.className = "hint colcw-searchable-none";
    none.setAttribute("aria-live", "polite");
    none.hidden = true;
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(none, select);
    function narrow() {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      var matches = 0;
      Array.prototype.forEach.call(select.options, function (option) {
        var text = option.textContent.toLowerCase();
        var match = !option.value || words.every(function (w) { return text.indexOf(w) !== -1; });
        if (match && option.value) { matches += 1; }
        option.hidden = !match && !option.selected;
      });
      none.hidden = !words.length || matches > 0;
      none.textContent = none.hidden ? "" : "Nothing matches \u201c" + box.value.trim() + "\u201d; the choice below is kept.";
    }
    box.addEventListener("input", narrow);
    box.addEventListener("keydown", function (event) { if (event.key === "Enter") { event.preventDefault(); } });
    select.addEventListener("change", narrow);  // the option picked stays shown; the one it replaced narrows as the rest
  }

  function focusFirst(root) {
    var first = root.querySelector("input:not([type=hidden])");
    if (first) { first.focus(); }
  }

  // <dialog data-colcw-dialog="name"> opened by <a data-colcw-popup="name"> (the link's page without
  // JavaScript, or where <dialog> is missing); [data-colcw-close] inside closes it.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-colcw-popup]");
    if (opener) {
      var dialog = document.querySelector("dialog[data-colcw-dialog='" + opener.dataset.colcwPopup + "']");
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var loader = dialog.querySelector("[data-colcw-load]");  // its content loads when it first opens
        if (loader && window.htmx) { window.htmx.trigger(loader, "colcw-open"); }
        focusFirst(dialog);
      }
      return;
    }
    var closer = event.target.closest("dialog [data-colcw-close]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  // A typeahead for a hidden id field: <div data-colcw-typeahead="search URL"> holding a text box
  // (.typeahead), the hidden input, a list (.suggestions) and a clear button (.clear); buttons
  // [data-colcw-pick][data-id][data-label] in the same cell choose a suggestion at once.
  function typeahead(box) {
    if (box.dataset.colcwReady) { return; }
    box.dataset.colcwReady = "1";
    var text = box.querySelector(".typeahead"), list = box.querySelector(".suggestions");
    var hidden = box.querySelector("input[type=hidden]"), clear = box.querySelector(".clear");
    var timer = null, seq = 0;
    function choose(id, label) {
      hidden.value = id; text.value = label; text.readOnly = !!id;
      clear.hidden = !id; list.hidden = true;
    }
    text.addEventListener("input", function () {
      window.clearTimeout(timer);
      var q = text.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      timer = window.setTimeout(function () {
        var mine = ++seq;
        fetch(box.dataset.colcwTypeahead + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (mine !== seq) { return; }
            list.replaceChildren();
            data.results.forEach(function (r) {
              var li = document.createElement("li"), b = document.createElement("button");
              b.type = "button";
              b.textContent = r.name + " (" + r.account_number + ")" + (r.city ? " — " + r.city : "") +
                (r.linked ? " · already linked" : "");
              b.disabled = r.linked;
              b.addEventListener("click", function () { choose(r.id, r.name + " (" + r.account_number + ")"); });
              li.appendChild(b); list.appendChild(li);
            });
            if (!data.results.length) {
              var li = document.createElement("li");
              li.className = "hint"; li.textContent = "No ChannelOnline customer matches.";
              list.appendChild(li);
            }
            list.hidden = false;
          });
      }, 200);
    });
    clear.addEventListener("click", function () { choose("", ""); text.focus(); });
    box.closest("td").querySelectorAll("[data-colcw-pick]").forEach(function (b) {
      b.addEventListener("click", function () { choose(b.dataset.id, b.dataset.label); });
    });
    if (hidden.value) { choose(hidden.value, text.value || "customer #" + hidden.value); }
  }

  // A run ended (the progress bar's last answer says so): a bar marked data-colcw-reload reloads
  // the page (e.g. a list whose statuses changed); other parts listen with hx-trigger. Not a page
  // the person is leaving: a reload cancels the navigation under way (a filter just chosen, a link
  // just clicked) and shows the old page again; the page they asked for shows the new states too.
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });  // (back to it from the history)
  document.addEventListener("colcw-run-finished", function (event) {
    if (event.target.closest && event.target.closest("[data-colcw-reload]")) {
      window.setTimeout(function () { if (!leaving) { window.location.reload(); } }, 300);
    }
  });

  // A panel that says what the host's header shows ([data-colcw-header] = "locked|status|label|detail", with the
  // ids of the host's lock badge and status row): when the header shows something else (the panel refreshed
  // itself after the document was locked, Won, Lost or reopened), the header's parts
  // ([data-colcw-header-parts], selectors) are taken from a fresh copy of the page, the rest left as it is.
  var headerAsked = "";  // the state last fetched for: a header the host draws otherwise is not fetched again and again
  function headerNow(panel) {
    var row = document.getElementById(panel.dataset.colcwHeaderRow || "");
    var ext = row && row.querySelector(".ext"), hint = row && row.querySelector(".hint");
    return [document.getElementById(panel.dataset.colcwHeaderLock || "") ? "locked" : "open",
      row ? row.dataset.status || "" : "", ext ? ext.textContent.trim() : "", hint ? hint.textContent.trim() : ""
    ].join("|");
  }
  function followHeader(panel) {
    var wanted = panel.dataset.colcwHeader;
    if (wanted === headerNow(panel) || wanted === headerAsked) { return; }
    headerAsked = wanted;
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (resp) { if (!resp.ok) { throw new Error("HTTP " + resp.status); } return resp.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        panel.dataset.colcwHeaderParts.split(",").forEach(function (selector) {
          var now = document.querySelector(selector.trim()), then = fresh.querySelector(selector.trim());
          if (now && then) { now.replaceWith(document.importNode(then, true)); }
        });
      })
      .catch(function () { headerAsked = ""; });  // the next refresh tries again
  }
  function watchHeaders(root) {
    if (root.matches && root.matches("[data-colcw-header]")) { followHeader(root); }
    if (root.querySelectorAll) { root.querySelectorAll("[data-colcw-header]").forEach(followHeader); }
  }
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {  // panels swapped in by htmx or refreshed by refresh.js
      changes.forEach(function (change) { change.addedNodes.forEach(watchHeaders); });
    }).observe(document.documentElement, {childList: true, subtree: true});
  }

  // A flash the page came with about an export under way ("… is still being exported to ConnectWise (…) (run #18)")
  // is stale once that run has ended: a panel following an export under way ([data-colcw-under-way], its text naming
  // "(run #N)") refreshes itself until the run's result replaces it. When a refreshed panel no longer shows a run
  // under way, the flashes outside the page's panels (.card) that name it go: the panel says the result.
  // A run that ended before the customer's panel first loaded never shows there: when the panel loads (not only
  // refreshes) without it, a flash saying that run is still exporting the customer is stale already, and goes too.
  var runsUnderWay = {};
  var SAYS_UNDER_WAY = /is still being exported|is already in the export|is already being exported/;
  function followRuns(loaded) {
    var now = {};
    document.querySelectorAll("[data-colcw-under-way]").forEach(function (el) {
      var found = /\(run #(\d+)\)/.exec(el.textContent);
      if (found) { now[found[1]] = true; }
    });
    var panelLoaded = loaded && loaded.nodeType === 1 &&
      (loaded.id === "colcw-sync-panel" || loaded.querySelector("#colcw-sync-panel"));
    document.querySelectorAll(".flash").forEach(function (flash) {
      if (flash.closest(".card")) { return; }
      var found = /\(run #(\d+)\)/.exec(flash.textContent);
      if (!found || now[found[1]]) { return; }
      if (runsUnderWay[found[1]] || (panelLoaded && SAYS_UNDER_WAY.test(flash.textContent))) { flash.remove(); }
    });
    runsUnderWay = now;
  }

  // A flash saying the state a run was in when the page was asked for ("Run #3 queued: Export all quotes…", "Run #3
  // resumed: …", "Run #3 is stopping: …", "Run #3 is recorded but not queued yet: …", "That job is already running as
  // run #3; …") is stale once the run has moved on: its progress bar on the page (#colcw-progress-N, a fresh copy
  // every second, data-status the run's status) shows another state. The flash outside the page's cards goes with
  // the copy that shows the change, without a reload — at once when the page came with the run past it already (a
  // worker took it in the moment of the redirect); the bar says where the run is.
  var SAID_STATES = [
    [/^Run #(\d+) (?:queued|resumed|is recorded but not queued yet)\b/, 1, "queued"],
    [/^Run #(\d+) is stopping\b/, 1, "cancelling"],
    [/\bis already (queued|running|waiting) as run #(\d+)\b/, 2, 1]
  ];
  function saidState(text) {
    for (var i = 0; i < SAID_STATES.length; i++) {
      var rule = SAID_STATES[i], found = rule[0].exec(text);
      if (found) { return {run: found[rule[1]], status: typeof rule[2] === "number" ? found[rule[2]] : rule[2]}; }
    }
    return null;
  }
  function followRunStates() {
    document.querySelectorAll(".flash").forEach(function (flash) {
      if (flash.closest(".card")) { return; }
      var said = saidState(flash.textContent.trim());
      var bar = said && document.getElementById("colcw-progress-" + said.run);
      if (bar && bar.dataset.status && bar.dataset.status !== said.status) { flash.remove(); }
    });
  }

  function enhance(root) {
    applyShows(root);
    root.querySelectorAll("select[data-colcw-searchable]").forEach(makeSearchable);
    root.querySelectorAll("[data-colcw-typeahead]").forEach(typeahead);
  }
  document.addEventListener("DOMContentLoaded", function () {
    enhance(document); watchHeaders(document); followRuns(); followRunStates();
  });
  document.addEventListener("htmx:load", function (event) {
    enhance(event.detail.elt);
    followRuns(event.detail.elt);
    followRunStates();
    // A section loaded after the page, which the address points at (…/#new-opportunities after its Save): the
    // browser jumped to its placeholder before it grew, so bring the section itself into view.
    var elt = event.detail.elt;
    if (elt.id && window.location.hash === "#" + elt.id) { elt.scrollIntoView(); }
    var dialog = event.detail.elt.closest && event.detail.elt.closest("dialog[open]");
    if (dialog) { focusFirst(dialog); }  // what an open dialog loaded (its form) takes the focus
  });
})();
