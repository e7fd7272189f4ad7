// Follows eval runs: every [data-progress-url] whose run is not final asks the server for
// the run's progress once a second, and updates its bar, its words and the run's state
// badges. When the run reaches a final state the page reloads, to show its results. The
// server renders the bar as it stood, so the page is right without this script too.
(function () {
  "use strict";
  var PERIOD_MS = 1000;

  function show(box, data) {
    var bar = box.querySelector("progress");
    if (bar) {
      if (data.samples_total) {
        bar.max = data.samples_total;
        bar.value = data.samples_done;
      } else {
        bar.removeAttribute("value"); // indeterminate until the first task starts
      }
      bar.textContent = data.text;
    }
    var text = box.querySelector("[data-progress-text]");
    if (text) { text.textContent = data.text; }
    var run = box.getAttribute("data-run");
    document.querySelectorAll("[data-run-state]").forEach(function (badge) {
      if (badge.getAttribute("data-run-state") === run) {
        badge.textContent = data.state;
        badge.className = "state state-" + data.state;
      }
    });
  }

  function unavailable(box) {
    var text = box.querySelector("[data-progress-text]");
    if (text) { text.textContent += " (progress unavailable: reload the page)"; }
  }

  function follow(box) {
    var url = box.getAttribute("data-progress-url");
    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          // A lapsed session answers with the login page: stop, and let a reload log in.
          if (!response.ok || type.indexOf("application/json") !== 0) {
            throw new Error("progress: HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          show(box, data);
          if (data.final) {
            window.location.reload();
          } else {
            window.setTimeout(poll, PERIOD_MS);
          }
        })
        .catch(function () { unavailable(box); });
    }
    window.setTimeout(poll, PERIOD_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]:not([data-final])").forEach(follow);
  });
})();
