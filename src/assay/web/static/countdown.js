// Counts down every [data-seconds-left] element once a second. The server renders the
// starting value from its own clock, so the page is right without this script too.
(function () {
  "use strict";
  function format(seconds) {
    var s = Math.max(0, seconds);
    var days = Math.floor(s / 86400);
    var rest = s % 86400;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return days + "d " + pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
  }
  function start() {
    var nodes = document.querySelectorAll("[data-seconds-left]");
    if (!nodes.length) { return; }
    var began = Date.now();
    setInterval(function () {
      var elapsed = Math.floor((Date.now() - began) / 1000);
      var ended = false;
      nodes.forEach(function (node) {
        var left = parseInt(node.getAttribute("data-seconds-left"), 10) - elapsed;
        node.textContent = format(left);
        ended = ended || left <= 0;
      });
      // The server decides the state; at zero, ask it again rather than show "open" at 0.
      if (ended) { window.location.reload(); }
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
