// The console map: coastlines from vendored world-atlas TopoJSON, no tiles, no network beyond
// this node. Country borders only when the user has turned them on (data-borders="on").
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L || !window.topojson) return;
  var shapes = JSON.parse(document.getElementById("map-shapes").textContent || "[]");
  var map = L.map(el, { worldCopyJump: true, attributionControl: true, preferCanvas: false });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Natural Earth (public domain) · Leaflet");
  map.setView([45, 30], 4);
  var colours = { flash: "#b00020", immediate: "#7a4a00", priority: "#0b4f8a", routine: "#1d2733" };
  var drawn = L.featureGroup().addTo(map);
  function ll(p) { return [parseFloat(p.lat), parseFloat(p.lon)]; }
  shapes.forEach(function (s) {
    var colour = colours[s.precedence] || "#1d2733";
    var opts = { color: colour, weight: 2, fillOpacity: 0.15, className: "shape shape-" + s.kind };
    var layer;
    if (s.kind === "circle") {
      layer = L.circle(ll(s.centre), Object.assign({ radius: parseFloat(s.radius_nm) * 1852 }, opts));
    } else if (s.kind === "polygon") {
      layer = L.polygon(s.points.map(ll), opts);
    } else {
      layer = L.circleMarker(ll(s.position), Object.assign({ radius: 6, fillOpacity: 0.8 }, opts));
    }
    layer.bindTooltip(s.id + " · " + s.format + " · " + s.path);
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
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds().pad(0.5));
    el.dataset.ready = "yes";
  });
})();
