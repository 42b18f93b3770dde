// Progressive enhancement of the file page: counts wait_between_downloads down and keeps the
// button disabled until then. Without it the page still works: the server refuses an early
// ticket with a page that retries by itself.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("countdown");
    var button = document.getElementById("download-button");
    var shown = document.getElementById("countdown-seconds");
    if (!box || !button || !shown) { return; }
    var left = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    if (left <= 0) { return; }
    button.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      shown.textContent = String(Math.max(left, 0));
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        box.textContent = "Your download is ready.";
      }
    }, 1000);
  });
})();
