// Durable's dashboard: keeps the page live without a reload. On each
// status event of /v1/events it fetches the page's live part and puts it
// in place, keeping what is typed in its fields and the keyboard focus.
// Without this script, the page is the same, refreshed by its link.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!live || !window.EventSource || !window.fetch) {
    return;
  }
  var busy = false, again = false;

  function swap(html) {
    var focused = document.activeElement && live.contains(document.activeElement) ? document.activeElement.id : "";
    var values = {};
    live.querySelectorAll("input[id]").forEach(function (el) { values[el.id] = el.value; });
    live.innerHTML = html;
    Object.keys(values).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.value = values[id]; }
    });
    if (focused) {
      var el = document.getElementById(focused);
      if (el) { el.focus(); }
    }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/ui/main", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { swap(html); } })
      .catch(function () {})
      .then(function () {
        // At most two swaps a second: under load the counters change at
        // every read of the status.
        setTimeout(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        }, 500);
      });
  }

  var events = new EventSource("/v1/events");
  events.addEventListener("status", function () {
    state.textContent = "live";
    refresh();
  });
  events.onerror = function () { state.textContent = "reconnecting…"; };
})();
