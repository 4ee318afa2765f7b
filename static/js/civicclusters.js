/* Civic Map: the look of clusters, shared by every map (issue 15.4).
 *
 * clusterBadge  the badge of a cluster: a ring split into the colours of what is inside it
 *               (the legend's colours), the total in the middle; used by the tile clusters
 *               (civictiles.js), by leaflet.markercluster groups and by the legends.
 * clusterGroup  a map's one L.markerClusterGroup for points fetched as GeoJSON (the
 *               /proposals map in propose.js); clusterMark marks a marker for it.
 * Loaded after civicmap.js, which it extends. */
(function () {
  "use strict";
  var el = window.civicmap.el;
  /* One clustering per map (issue 15.4): every clustered layer of a map puts its points into
   * the map's one L.markerClusterGroup, so clusters of different layers never overlap and
   * hide each other. A cluster is a ring split into the colours of the points inside it (the
   * legend's colours: a layer's own colour, or its legend's colour by value), layer by layer
   * in the panel's order, with the total in the middle and the count per layer for screen
   * readers and as a tooltip. The panel's legend draws a sample with the same function. */

  /* parts: [{layer, title, color, border, n}] in drawing order. */
  function clusterBadge(parts, n) {
    if (!Array.isArray(parts)) {  // the older call (spec, n, counts) of a single layer
      var spec = parts, counts = arguments[2] || {}, legacy = [];
      (spec.legend || []).forEach(function (e) {
        if (counts[e.value]) legacy.push({ layer: spec.layer, title: spec.title, color: e.color,
                                           border: spec.style.color, n: counts[e.value] });
      });
      if (!legacy.length) legacy.push({ layer: spec.layer, title: spec.title, color: spec.style.fillColor || spec.style.color,
                                        border: spec.style.color, n: n });
      parts = legacy;
    }
    var inner = el("div", null, "civic-cluster-badge");
    var total = 0, byLayer = {};
    parts.forEach(function (p) { total += p.n; byLayer[p.layer] = (byLayer[p.layer] || 0) + p.n; });
    var dominant = null;
    parts.forEach(function (p) { if (!dominant || byLayer[p.layer] > byLayer[dominant.layer]) dominant = p; });
    inner.style.borderColor = Object.keys(byLayer).length > 1 ? "#1b1b1b" : (dominant ? dominant.border : "#1b1b1b");
    var stops = [], at = 0;
    parts.forEach(function (p) {
      if (!p.n || !total) return;
      var to = at + (p.n / total) * 360;
      stops.push(p.color + " " + at.toFixed(1) + "deg " + to.toFixed(1) + "deg");
      at = to;
    });
    inner.style.background = stops.length > 1 ? "conic-gradient(" + stops.join(", ") + ")"
                                               : (parts[0] ? parts[0].color : "#999");
    inner.setAttribute("data-count", String(n === undefined ? total : n));
    inner.setAttribute("data-layers", Object.keys(byLayer).map(function (k) { return k + ":" + byLayer[k]; }).join(","));
    inner.appendChild(el("span", String(n === undefined ? total : n), "civic-cluster-count"));
    return inner;
  }

  /* "Projekty: 12, Miejsca obywatelskie: 3" */
  function clusterSummary(parts) {
    var seen = [], by = {};
    parts.forEach(function (p) {
      if (!(p.layer in by)) { by[p.layer] = 0; seen.push(p); }
      by[p.layer] += p.n;
    });
    return seen.map(function (p) { return (p.title ? p.title + ": " : "") + by[p.layer]; }).join(", ");
  }

  function clusterParts(map, markers) {
    var order = map._civicClusterOrder || [], slots = {}, out = [];
    markers.forEach(function (m) {
      var c = m._civic;
      if (!c) return;
      var key = c.layer + "\u0000" + c.color;
      if (!slots[key]) {
        slots[key] = { layer: c.layer, title: c.title, color: c.color, border: c.border, n: 0,
                       rank: order.indexOf(c.layer) * 1000 + (c.rank || 0) };
        out.push(slots[key]);
      }
      slots[key].n += 1;
    });
    out.sort(function (a, b) { return a.rank - b.rank; });
    return out;
  }

  function sharedClusterIcon(map) {
    return function (cluster) {
      var n = cluster.getChildCount();
      var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
      var parts = clusterParts(map, cluster.getAllChildMarkers());
      var inner = clusterBadge(parts, n);
      var summary = clusterSummary(parts);
      inner.title = summary;
      var items = (map._civicClusterItems || "") ;
      inner.appendChild(el("span", " " + items + (items ? ": " : "") + summary, "visually-hidden"));
      var layers = {};
      parts.forEach(function (p) { layers[p.layer] = true; });
      var cls = "marker-cluster civic-cluster civic-cluster-" + size;
      Object.keys(layers).forEach(function (k) { cls += " civic-cluster-" + k; });
      if (Object.keys(layers).length > 1) cls += " civic-cluster-mixed";
      return L.divIcon({ html: inner, className: cls, iconSize: L.point(40, 40) });
    };
  }

  /* The map's one cluster group (created on first use; null without leaflet.markercluster).
   * ``layer`` ({layer, title, items}) joins the order in which clusters list the layers. */
  function clusterGroup(map, layer) {
    if (typeof L.markerClusterGroup !== "function") return null;
    if (!isFinite(map.getMaxZoom())) map.setMaxZoom(19);
    map._civicClusterOrder = map._civicClusterOrder || [];
    if (layer && map._civicClusterOrder.indexOf(layer.layer) < 0) map._civicClusterOrder.push(layer.layer);
    if (layer && layer.items && !map._civicClusterItems) map._civicClusterItems = layer.items;
    if (map._civicCluster) return map._civicCluster;
    var g = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45, chunkedLoading: true,
                                   spiderfyOnMaxZoom: true, iconCreateFunction: sharedClusterIcon(map) });
    g.on("clusterkeypress", function (e) {
      var key = e.originalEvent && (e.originalEvent.key || e.originalEvent.keyCode);
      if (key === "Enter" || key === 13 || key === " ") e.layer.zoomToBounds();
    });
    g.addTo(map);
    map._civicCluster = g;
    return g;
  }

  /* Mark a point marker for the shared clusters: which layer, which colour (its fill). */
  function clusterMark(marker, info) {
    marker._civic = info;
    return marker;
  }

  window.civicmap.clusterBadge = clusterBadge;
  window.civicmap.clusterSummary = clusterSummary;
  window.civicmap.clusterGroup = clusterGroup;
  window.civicmap.clusterMark = clusterMark;
})();
