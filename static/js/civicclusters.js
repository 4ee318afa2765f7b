/* Civic Map: the look of clusters, shared by every map (issue 15.4).
 *
 * clusterBadge  the badge of a cluster: a ring split into the colours of what is inside it
 *               (the legend's colours), the total in the middle; used by the tile clusters
 *               (civictiles.js) and by the legends.
 * clusterSummary "Projekty: 12, Miejsca obywatelskie: 3", a cluster's tooltip and name.
 * Loaded after civicmap.js, which it extends. */
(function () {
  "use strict";
  var el = window.civicmap.el;
  /* A cluster is a ring split into the colours of the points inside it (the legend's
   * colours: a layer's own colour, or its legend's colour by value), layer by layer in the
   * panel's order, with the total in the middle and the count per layer for screen readers
   * and as a tooltip. The panel's legend draws a sample with the same function. */

  /* parts: [{layer, title, color, border, n}] in drawing order. */
  function clusterBadge(parts, n) {
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

  window.civicmap.clusterBadge = clusterBadge;
  window.civicmap.clusterSummary = clusterSummary;
})();
