// Live countdowns to acknowledgement deadlines, and a tone while a FLASH banner is up.
// The server's clock (the node's, injected in tests) is the reference: the page carries it.
(function () {
  "use strict";
  var body = document.body;
  var offset = parseFloat(body.dataset.now || "0") - Date.now() / 1000;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function span(s) {
    s = Math.floor(Math.abs(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(sec);
  }
  var stamp = null;
  function tick() {
    // Every live update carries the node's time when it was sent (not the rows: a row is
    // replaced only when its own content changes): follow it, so a clock that jumps (an NTP
    // step, or the injected clock in tests) moves the countdowns.
    var live = document.querySelector("#live [data-now]");
    if (live && live.dataset.now !== stamp) {
      stamp = live.dataset.now;
      offset = parseFloat(stamp) - Date.now() / 1000;
    }
    var now = Date.now() / 1000 + offset;
    document.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      var left = parseFloat(el.dataset.due) - now;
      var text = left >= 0 ? body.dataset.inLabel + " " + span(left) : body.dataset.overdueLabel + " " + span(left);
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("late", left < 0);
    });
  }
  var seen = {};
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound available: the banner still shows */ }
  }
  function flashes() {
    document.querySelectorAll("[data-flash]").forEach(function (el) {
      var id = el.dataset.flash;
      if (!seen[id]) { seen[id] = true; beep(); }
    });
  }
  tick(); flashes();
  setInterval(tick, 1000);
  document.addEventListener("htmx:after:swap", function () { tick(); flashes(); });
  new MutationObserver(function () { tick(); flashes(); }).observe(document.getElementById("banner") || body, { childList: true, subtree: true });
})();

// The inbox's selection for "answer selected": kept here, by message id, and put back on any
// row a live update replaces, so an update never clears or changes what the officer selected.
// A row that leaves the list (answered elsewhere) leaves the selection with it.
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  var form = document.getElementById("bulk");
  if (!rows || !form) return;
  var selected = {};
  function sync() {
    var present = {};
    rows.querySelectorAll("input.select").forEach(function (box) {
      present[box.value] = true;
      if (box.checked !== !!selected[box.value]) box.checked = !!selected[box.value];
    });
    Object.keys(selected).forEach(function (id) { if (!present[id]) delete selected[id]; });
  }
  rows.addEventListener("change", function (e) {
    var box = e.target;
    if (box.classList && box.classList.contains("select")) {
      if (box.checked) selected[box.value] = true; else delete selected[box.value];
    }
  });
  var all = document.getElementById("select-all");
  if (all) all.addEventListener("change", function () {
    rows.querySelectorAll("input.select").forEach(function (box) {
      if (all.checked) selected[box.value] = true; else delete selected[box.value];
    });
    sync();
  });
  new MutationObserver(sync).observe(rows, { childList: true, subtree: true });
})();
