// The console map: coastlines from vendored world-atlas TopoJSON, no tiles, no network beyond
// this node. Country borders only when the user has turned them on (data-borders="on").
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L || !window.topojson) return;
  var shapes = JSON.parse(document.getElementById("map-shapes").textContent || "[]");
  var map = L.map(el, { worldCopyJump: true, attributionControl: true, preferCanvas: false, minZoom: 2, maxZoom: 12 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Natural Earth (public domain) · Leaflet");
  map.setView([45, 30], 4);
  var colours = { flash: "#b00020", immediate: "#7a4a00", priority: "#0b4f8a", routine: "#1d2733" };
  var drawn = L.featureGroup().addTo(map);
  // The server sends only shapes the catalog's checks accept; the numbers are checked again
  // here all the same, because one NaN makes Leaflet throw and then nothing at all is drawn.
  function num(v, low, high) {
    if (typeof v !== "string" || !/^-?[0-9]+(\.[0-9]+)?$/.test(v)) return null;
    var n = Number(v);
    return isFinite(n) && n >= low && n <= high ? n : null;
  }
  function ll(p) {
    if (!p || typeof p !== "object") return null;
    var lat = num(p.lat, -90, 90), lon = num(p.lon, -180, 180);
    return lat === null || lon === null ? null : [lat, lon];
  }
  function layerOf(s, opts) {
    var g = s.shape || {};
    if (s.kind === "circle") {
      var centre = ll(g.centre), nm = num(g.radius_nm, 0.01, 5000);
      return centre && nm !== null ? L.circle(centre, Object.assign({ radius: nm * 1852 }, opts)) : null;
    }
    if (s.kind === "polygon") {
      var points = Array.isArray(g.points) ? g.points.map(ll) : [];
      return points.length >= 3 && points.every(Boolean) ? L.polygon(points, opts) : null;
    }
    if (s.kind === "position") {
      var at = ll(g);
      return at ? L.circleMarker(at, Object.assign({ radius: 6, fillOpacity: 0.8 }, opts)) : null;
    }
    return null;
  }
  function label(s) {
    // An element holding text, never an HTML string: a peer names the fields in the path.
    var el = document.createElement("span");
    el.textContent = [s.id, s.format, s.path].join(" · ");
    return el;
  }
  shapes.forEach(function (s) {
    var colour = colours[s.precedence] || "#1d2733";
    var layer = layerOf(s, { color: colour, weight: 2, fillOpacity: 0.15, className: "shape shape-" + s.kind });
    if (!layer) return;
    layer.bindTooltip(label(s));
    layer.addTo(drawn);
  });
  function base(url, object, style, pane) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (topo) {
        var geo = window.topojson.feature(topo, topo.objects[object]);
        L.geoJSON(geo, { style: style, interactive: false, className: pane }).addTo(map);
        drawn.bringToFront();
      });
  }
  var loads = [base("/static/vendor/world-atlas/land-50m.json", "land",
    // Strokes only: filled, Antarctica's ring (which runs along the antimeridian) would flood
    // the sea in Web Mercator; coastlines alone are unambiguous.
    { color: "#4a4a4a", weight: 1, fill: false, className: "land" }, "land")];
  if (el.dataset.borders === "on") {
    loads.push(base("/static/vendor/world-atlas/countries-50m.json", "countries",
      { color: "#7a4a00", weight: 1, dashArray: "4 3", fill: false, className: "border" }, "border"));
  }
  Promise.all(loads).then(function () {
    // A single position has bounds of no size: unbounded, fitBounds would zoom in without end (no
    // tile layer sets a maximum) and show an empty map. At 6 a position still shows the coasts around it.
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds().pad(0.5), { maxZoom: 6 });
    el.dataset.ready = "yes";
  });
})();
