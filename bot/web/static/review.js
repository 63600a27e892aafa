/*
 * codesign review area: the little that needs JavaScript.
 *
 * While a background job runs (recomputing themes, adding knowledge documents), the page
 * polls the job's progress (a small JSON endpoint), shows it, and reloads when the job is
 * done. Without JavaScript the page refreshes itself instead (<noscript><meta
 * http-equiv="refresh">).
 *
 * A form with a data-confirm attribute asks before it is sent (its button's label already
 * says what it does, so without JavaScript it is sent at once).
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function pollJob(box) {
    var url = box.getAttribute("data-job-url");
    var done = box.getAttribute("data-done-url");
    var stage = document.getElementById("job-stage");
    var percent = document.getElementById("job-percent");
    var bar = document.getElementById("job-progress");
    if (!url || !bar) return;

    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          if (stage) stage.textContent = job.stage;
          if (percent) percent.textContent = String(job.percent);
          bar.value = job.percent;
          if (job.status === "running") {
            window.setTimeout(tick, 1000);
          } else {
            // Done or failed: show the page with the result.
            window.location.assign(done + "?job=" + encodeURIComponent(job.id));
          }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 500);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("job");
    if (box) pollJob(box);
  });
})();
