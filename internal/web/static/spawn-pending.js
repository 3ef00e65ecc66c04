// gohub: the spawn-pending page follows the server's progress stream (spec §1.4) and reloads
// when the spawn has ended; the hub then redirects to the server or shows why it failed.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) return;
  var bar = document.getElementById("progress-bar");
  var msg = document.getElementById("progress-message");
  var log = document.getElementById("progress-log");
  var done = false;

  function finish() {
    done = true;
    // A moment to show the full bar, then let the hub decide where to go.
    setTimeout(function () { window.location.reload(); }, 300);
  }

  function show(ev) {
    if (typeof ev.progress === "number") {
      var pct = Math.max(0, Math.min(100, ev.progress));
      bar.style.width = pct + "%";
      box.setAttribute("aria-valuenow", String(pct));
    }
    if (ev.message) {
      msg.textContent = ev.message;
      var li = document.createElement("li");
      li.textContent = ev.message;
      log.appendChild(li);
    }
    if (ev.failed) {
      box.classList.add("progress-failed");
    }
  }

  var source = new EventSource(box.getAttribute("data-progress-url"));
  source.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    show(ev);
    if (ev.ready || ev.failed) {
      source.close();
      finish();
    }
  };
  source.onerror = function () {
    // The stream ended or is not there: check back with the hub in a while.
    if (done) return;
    source.close();
    setTimeout(function () { window.location.reload(); }, 3000);
  };
})();
