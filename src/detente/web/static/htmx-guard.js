// What htmx may do on the console. Its one job here is the live stream; peer data reaches the
// pages as escaped text inside hx-ignore. Should markup ever slip through all the same, htmx
// must not act on it, so this extension (approved by name in the page's htmx-config) refuses:
// - every request but GET /live on this origin from an element outside hx-ignore (htmx's own
//   hx-ignore check is skipped by the SSE extension, which looks for hx-sse:connect everywhere);
// - code: hx-on handlers, and the Function constructors htmx uses for js: values and filters;
// - <script> in a swapped response (the whole swap fails), and out-of-band swaps.
// htmx 4 has no allowEval, allowScriptTags or selfRequestsOnly settings: these are its hooks
// (initSecurity, htmx_config_request, htmx_before_request, htmx_before_on_init,
// htmx_before_swap), as in its own hx-csp extension.
(function () {
  "use strict";
  if (!window.htmx) return;
  var LIVE = "/live";

  function refuse() {
    throw new Error("detente: htmx may not run code on this console");
  }

  // Stands in for Function and AsyncFunction: whatever htmx compiles can never be called.
  function NoCode() {
    return { call: refuse };
  }

  function allowed(ctx) {
    var req = ctx && ctx.request;
    if (!req || String(req.method).toUpperCase() !== "GET" || req.mode !== "same-origin") return false;
    var target;
    try {
      target = new URL(req.action, window.location.href);
    } catch (e) {
      return false;
    }
    var source = ctx.sourceElement;
    var inPeerData = source && source.closest && source.closest("[hx-ignore],[data-hx-ignore]");
    return target.origin === window.location.origin && target.pathname === LIVE && !inPeerData;
  }

  function gate(elt, detail) {
    if (allowed(detail.ctx)) return undefined;
    detail.cancelled = true;
    return false;
  }

  htmx.registerExtension("detente-guard", {
    init: function (api) {
      api.initSecurity({ createHTML: function (s) { return s; }, createScript: refuse }, NoCode, NoCode);
    },
    htmx_before_on_init: function () { return false; },
    htmx_config_request: gate,
    htmx_before_request: gate,
    htmx_before_swap: function (elt, detail) {
      return detail.tasks.every(function (task) { return task.type !== "oob"; });
    }
  });
})();
