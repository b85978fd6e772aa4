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
