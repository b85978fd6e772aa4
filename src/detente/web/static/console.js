// Live countdowns to acknowledgement deadlines, the stale-screen bar, and the alarms (tone,
// tab title, desktop notifications) for what the banner shows.
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
  // -- A stale screen never looks live ----------------------------------------------------
  // Every live update carries the node's time; if none has come for STALE_MS (two refresh
  // periods and a margin), or the stream failed, a red bar says since when the screen is not
  // live. A stream refused because the session ended (expired, or signed out elsewhere) sends
  // the page to the sign-in page.
  var STALE_MS = 12000;
  var liveEl = document.getElementById("live");
  var staleBar = document.getElementById("stale");
  var lastLive = Date.now(), lastNode = parseFloat(body.dataset.now || "0");
  function hhmmss(t) { return new Date(t * 1000).toISOString().slice(11, 19); }
  function checkSession() {
    fetch("/live/session", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) window.location.assign("/login");
    }).catch(function () { /* offline: the bar says so */ });
  }
  var staleChecks = 0;
  function staleness() {
    if (!liveEl || !staleBar) return;
    var stale = Date.now() - lastLive > STALE_MS;
    if (stale) {
      var text = body.dataset.staleLabel.replace("{time}", hhmmss(lastNode));
      if (staleBar.textContent !== text) staleBar.textContent = text;
      if (staleChecks++ % 5 === 0) checkSession();
    } else {
      staleChecks = 0;
    }
    staleBar.hidden = !stale;
    body.classList.toggle("is-stale", stale);
  }
  if (liveEl) {
    liveEl.addEventListener("htmx:sse:after:message", function () {
      lastLive = Date.now();
      var s = document.querySelector("#live [data-now]");
      if (s) lastNode = parseFloat(s.dataset.now);
      staleness();
    });
    ["htmx:sse:error", "htmx:sse:close"].forEach(function (name) {
      liveEl.addEventListener(name, function () { lastLive = 0; staleness(); checkSession(); });
    });
  }

  // -- Alarms: sound, title, desktop notifications ------------------------------------------
  // Each banner line that calls for attention has a key (data-alarm). A key sounds every
  // REPEAT_MS until it is acknowledged here (per user, kept in this browser) or leaves the
  // banner; a FLASH cannot be acknowledged here: only answering it ends its alarm. Muting is
  // per user and always shown on the mute button.
  var REPEAT_MS = 4000;
  var who = body.dataset.user || "";
  var ACK_KEY = "detente-acked:" + who, MUTE_KEY = "detente-muted:" + who;
  var store = window.localStorage;
  function loadAcked() { try { return JSON.parse(store.getItem(ACK_KEY) || "{}"); } catch (e) { return {}; } }
  var acked = loadAcked();
  var muted = store.getItem(MUTE_KEY) === "1";
  var baseTitle = document.title;
  var notified = {};
  var tones = 0;
  var audio = null;
  function tone(flash) {
    tones += 1;
    body.dataset.tones = String(tones);
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      // A FLASH is three short high beeps; any other alarm two lower ones.
      var n = flash ? 3 : 2, f = flash ? 1320 : 660, t0 = audio.currentTime;
      for (var i = 0; i < n; i++) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = f; g.gain.value = 0.12;
        o.connect(g); g.connect(audio.destination);
        o.start(t0 + i * 0.3); o.stop(t0 + i * 0.3 + 0.18);
      }
    } catch (e) { /* no sound available: the banner, the title and notifications still show */ }
  }
  function lines() { return Array.prototype.slice.call(document.querySelectorAll("#banner [data-alarm]")); }
  function isFlash(el) { return el.hasAttribute("data-flash"); }
  function sounding() { return lines().filter(function (el) { return isFlash(el) || !acked[el.dataset.alarm]; }); }
  var silenceBtn = document.getElementById("alarm-silence");
  var muteBtn = document.getElementById("alarm-mute");
  var notifyBtn = document.getElementById("alarm-notify");
  function showMute() {
    if (!muteBtn) return;
    muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
    muteBtn.textContent = muted ? muteBtn.dataset.off : muteBtn.dataset.on;
    muteBtn.classList.toggle("is-muted", muted);
  }
  function canNotify() { return "Notification" in window && Notification.permission === "granted"; }
  function alarms() {
    var all = lines(), loud = sounding();
    var flash = loud.some(isFlash);
    body.dataset.sounding = loud.length ? (flash ? "flash" : "alarm") : "";
    var label = all.some(isFlash) ? body.dataset.titleFlash : body.dataset.titleAlarm;
    document.title = all.length ? "(" + all.length + ") " + label + " · " + baseTitle : baseTitle;
    if (silenceBtn) silenceBtn.hidden = !loud.some(function (el) { return !isFlash(el); });
    if (notifyBtn) notifyBtn.hidden = !("Notification" in window) || Notification.permission !== "default";
    var fresh = false;
    var present = {};
    all.forEach(function (el) {
      var key = el.dataset.alarm;
      present[key] = true;
      if (notified[key]) return;
      notified[key] = true;
      if (isFlash(el) || !acked[key]) fresh = true;
      if (canNotify()) {
        var what = el.querySelector(".what");
        try { new Notification(label, { body: (what || el).textContent.trim(), tag: key }); } catch (e) { /* shown in the page anyway */ }
      }
    });
    // Acknowledged keys that left the banner are forgotten (the list stays small).
    var changed = false;
    Object.keys(acked).forEach(function (k) { if (!present[k]) { delete acked[k]; changed = true; } });
    if (changed) store.setItem(ACK_KEY, JSON.stringify(acked));
    if (fresh && !muted) tone(flash);
  }
  if (silenceBtn) silenceBtn.addEventListener("click", function () {
    lines().forEach(function (el) { if (!isFlash(el)) acked[el.dataset.alarm] = true; });
    store.setItem(ACK_KEY, JSON.stringify(acked));
    alarms();
  });
  if (muteBtn) muteBtn.addEventListener("click", function () {
    muted = !muted;
    if (muted) store.setItem(MUTE_KEY, "1"); else store.removeItem(MUTE_KEY);
    showMute();
  });
  if (notifyBtn) notifyBtn.addEventListener("click", function () {
    Notification.requestPermission().then(alarms);
  });
  showMute();
  tick(); alarms(); staleness();
  setInterval(tick, 1000);
  setInterval(staleness, 1000);
  setInterval(function () {
    var loud = sounding();
    if (loud.length && !muted) tone(loud.some(isFlash));
  }, REPEAT_MS);
  document.addEventListener("htmx:after:swap", function () { tick(); alarms(); });
  new MutationObserver(function () { tick(); alarms(); }).observe(document.getElementById("banner") || body, { childList: true, subtree: true });
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
