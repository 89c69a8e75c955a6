// The cleaner's page: ask for new ticks every few seconds and mark the rooms done.
// Without this script the page still works; reloading it shows the same.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) return;
  var every = 1000 * Number(live.getAttribute("data-every") || 15);
  function set(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }
  function poll() {
    fetch(live.getAttribute("data-ticks"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        d.done.forEach(function (room) {
          var li = live.querySelector('li[data-room="' + room + '"]');
          if (li && !li.classList.contains("done")) {
            li.classList.add("done");
            li.querySelector(".tick").textContent = "\u2713";
            li.querySelector(".state").textContent = d.ticked;
          }
        });
        set("remaining", d.remaining);
        set("progress", d.progress);
        set("updated", d.updated);
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
