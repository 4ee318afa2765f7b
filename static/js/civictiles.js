/* Civic Map: registered layers from their vector tiles (/tiles/<layer>/{z}/{x}/{y}.mvt,
 * layers/tiles.py, docs/tiles.md).
 *
 * Features are drawn on one canvas per tile, so no view adds a DOM node per feature (a city
 * of a million proposals stays light). Below the layer's clustering zoom the tiles carry
 * exact clusters (MVT layer `<layer>-clusters`: `count`, `id` when the cell holds one feature,
 * `<field>:<value>` counts for the legend): they become one marker per grid cell for ALL the
 * map's clustered layers together (one clustering per map, issue 15.4), a ring in the
 * legend's colours with the total inside. A click (or Enter) on a cluster zooms in; a click on
 * a feature, hit-tested on the tile's own geometry, opens its popup from
 * /api/layers/<layer>/features/<id>.
 *
 * What a layer shows in view is the sum of its clusters' counts plus the distinct ids of its
 * features over the tiles covering the view: what /api/layers/<layer>/features returns for
 * those tiles' box and the same filters. The map's container carries it as
 * data-loaded-<layer>, and the tiles as data-tiles-<layer>="z/x0/y0/x1/y1".
 * Loaded after civicmap.js (and civicclusters.js), which it extends. */
(function () {
  "use strict";
  if (!window.L || !window.Pbf || !window.civicmap) return;  // a page without a map
  var C = window.civicmap, el = C.el, TILE = 256;

  /* ---- MVT decoding: the vector_tile.proto messages, read with the vendored pbf ---------- */

  function readValue(pbf) {
    var value = null, end = pbf.readVarint() + pbf.pos;
    while (pbf.pos < end) {
      var tag = pbf.readVarint() >> 3;
      value = tag === 1 ? pbf.readString() : tag === 2 ? pbf.readFloat() : tag === 3 ? pbf.readDouble()
        : tag === 4 ? pbf.readVarint64() : tag === 5 ? pbf.readVarint() : tag === 6 ? pbf.readSVarint()
        : tag === 7 ? pbf.readBoolean() : null;
    }
    return value;
  }

  function readGeometry(pbf) {
    var end = pbf.readVarint() + pbf.pos, cmd = 1, length = 0, x = 0, y = 0, parts = [], part = null;
    while (pbf.pos < end) {
      if (length <= 0) { var c = pbf.readVarint(); cmd = c & 0x7; length = c >> 3; }
      length -= 1;
      if (cmd === 1 || cmd === 2) {
        x += pbf.readSVarint();
        y += pbf.readSVarint();
        if (cmd === 1) { if (part) parts.push(part); part = []; }
        part.push([x, y]);
      } else if (cmd === 7 && part && part.length) {
        part.push(part[0]);
      }
    }
    if (part) parts.push(part);
    return parts;
  }

  function readFeature(tag, f, pbf) {
    if (tag === 1) f.id = pbf.readVarint();
    else if (tag === 3) f.type = pbf.readVarint();
    else if (tag === 4) f.geom = readGeometry(pbf);
    else if (tag === 2) {
      var end = pbf.readVarint() + pbf.pos;
      while (pbf.pos < end) f.properties[f.keys[pbf.readVarint()]] = f.values[pbf.readVarint()];
    }
  }

  function readLayer(tag, l, pbf) {
    if (tag === 1) l.name = pbf.readString();
    else if (tag === 5) l.extent = pbf.readVarint();
    else if (tag === 3) l.keys.push(pbf.readString());
    else if (tag === 4) l.values.push(readValue(pbf));
    else if (tag === 2) l.at.push(pbf.pos);  // features: read once the keys are known (pbf skips it)
  }

  /* {<mvt layer name>: {extent, features: [{id, type (1 point, 2 line, 3 polygon), properties, geom}]}} */
  function decode(buf) {
    var pbf = new window.Pbf(new Uint8Array(buf)), out = {};
    pbf.readFields(function (tag, out, pbf) {
      if (tag !== 3) return;
      var l = pbf.readMessage(readLayer, { name: "", extent: 4096, keys: [], values: [], at: [] });
      var end = pbf.pos;
      l.features = l.at.map(function (pos) {
        pbf.pos = pos;
        var f = pbf.readMessage(readFeature, { id: null, type: 0, properties: {}, geom: [], keys: l.keys, values: l.values });
        delete f.keys; delete f.values;
        return f;
      });
      pbf.pos = end;
      out[l.name] = l;
    }, out);
    return out;
  }

  /* ---- drawing a tile -------------------------------------------------------------------- */

  function drawTile(canvas, layer, spec, ratio) {
    var ctx = canvas.getContext("2d"), s = canvas.width / layer.extent, st = spec.style;
    var feats = layer.features.slice().sort(function (a, b) { return b.type - a.type; });
    feats.forEach(function (f) {
      var look = C.pathStyle(spec, f.properties);
      ctx.strokeStyle = look.color;
      ctx.fillStyle = look.fillColor;
      if (f.type === 1) {
        ctx.lineWidth = 1.5 * ratio;
        f.geom.forEach(function (pts) {
          pts.forEach(function (p) {
            ctx.beginPath();
            ctx.arc(p[0] * s, p[1] * s, (st.radius || 6) * ratio, 0, 2 * Math.PI);
            ctx.globalAlpha = 0.85;
            ctx.fill();
            ctx.globalAlpha = 1;
            ctx.stroke();
          });
        });
        return;
      }
      ctx.lineWidth = (st.weight || 2) * ratio;
      ctx.beginPath();
      f.geom.forEach(function (ring) {
        ring.forEach(function (p, i) { if (i) ctx.lineTo(p[0] * s, p[1] * s); else ctx.moveTo(p[0] * s, p[1] * s); });
        if (f.type === 3) ctx.closePath();
      });
      if (f.type === 3) {
        ctx.globalAlpha = look.fillOpacity;
        ctx.fill("evenodd");
      }
      ctx.globalAlpha = look.opacity;
      ctx.stroke();
      ctx.globalAlpha = 1;
    });
  }

  var TileLayer = L.GridLayer.extend({
    options: { pane: "civicShapes", maxNativeZoom: 22, keepBuffer: 1, updateWhenZooming: false },

    initialize: function (spec, store, options) {
      L.setOptions(this, options);
      this.spec = spec;
      this.store = store;  // tile key -> {coords, data}
      var q = new URLSearchParams(spec.params || {}).toString();
      this.query = q ? "?" + q : "";
    },

    createTile: function (coords, done) {
      var tile = L.DomUtil.create("canvas", "civic-tile"), size = this.getTileSize();
      var ratio = window.devicePixelRatio || 1, spec = this.spec, store = this.store;
      var key = this._tileCoordsToKey(coords);
      tile.width = size.x * ratio;
      tile.height = size.y * ratio;
      tile.style.width = size.x + "px";
      tile.style.height = size.y + "px";
      tile.setAttribute("aria-hidden", "true");
      var ctrl = tile._civicAbort = new AbortController();
      var url = spec.tiles.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y) + this.query;
      if (this.onFetch) this.onFetch();
      fetch(url, { credentials: "same-origin", signal: ctrl.signal }).then(function (r) {
        if (r.status === 204) return null;
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (buf) {
        var data = buf ? decode(buf) : {};
        store[key] = { coords: coords, data: data };
        if (data[spec.layer]) drawTile(tile, data[spec.layer], spec, ratio);
        done(null, tile);
      }).catch(function (e) {
        if (e && e.name === "AbortError") return;
        store[key] = { coords: coords, data: {}, error: e };
        done(e, tile);
      });
      return tile;
    }
  });

  /* ---- the map's one set of clusters ---------------------------------------------------- */

  function tileLatLng(map, coords, extent, p) {
    return map.unproject([(coords.x + p[0] / extent) * TILE, (coords.y + p[1] / extent) * TILE], coords.z);
  }

  /* The clusters of one tile of one layer: [{cell, latlng, count, id, parts}]. */
  function tileClusters(map, spec, coords, data) {
    var l = data[spec.layer + "-clusters"], grid = spec.clusterGrid || 4;
    if (!l) return [];
    return l.features.map(function (f) {
      var p = f.geom[0] && f.geom[0][0];
      if (!p) return null;
      var pr = f.properties, parts = [];
      (spec.colorBy ? spec.legend : []).forEach(function (e, i) {
        var n = pr[spec.colorBy + ":" + e.value];
        if (n) parts.push({ layer: spec.layer, title: spec.title, color: e.color, border: spec.style.color, n: n, rank: i + 1 });
      });
      if (!parts.length) {
        parts.push({ layer: spec.layer, title: spec.title, color: spec.style.fillColor || spec.style.color,
                     border: spec.style.color, n: pr.count, rank: 0 });
      }
      var cx = Math.min(grid - 1, Math.floor(p[0] * grid / l.extent)), cy = Math.min(grid - 1, Math.floor(p[1] * grid / l.extent));
      return { cell: cx + "/" + cy, latlng: tileLatLng(map, coords, l.extent, p), count: pr.count,
               id: pr.id, parts: parts, spec: spec };
    }).filter(Boolean);
  }

  /* The marker's place: the mean of the cell's points, kept ``half`` (its half-size) pixels
   * inside the cell, so that markers of neighbouring cells never cover each other. */
  function inCell(map, latlng, z, grid, half) {
    var p = map.project(latlng, z), size = TILE / grid;
    var x0 = Math.floor(p.x / size) * size, y0 = Math.floor(p.y / size) * size;
    var x = Math.max(x0 + half, Math.min(x0 + size - half, p.x));
    var y = Math.max(y0 + half, Math.min(y0 + size - half, p.y));
    return map.unproject([x, y], z);
  }

  /* A click, or Enter/Space on the focused marker (Leaflet 1.9 gives markers no keyboard click). */
  function onPress(marker, fn) {
    marker.on("click", fn);
    marker.on("keydown", function (e) {
      var k = e.originalEvent && e.originalEvent.key;
      if (k === "Enter" || k === " ") { L.DomEvent.preventDefault(e.originalEvent); fn(); }
    });
  }

  function cells(map) {
    if (map._civicCells) return map._civicCells;
    var byTile = {}, group = L.layerGroup().addTo(map), order = [];

    function marker(entries, z) {
      var total = 0, lat = 0, lng = 0, parts = [];
      entries.forEach(function (e) {
        total += e.count;
        lat += e.latlng.lat * e.count;
        lng += e.latlng.lng * e.count;
        parts = parts.concat(e.parts);
      });
      var single = total === 1 && entries[0].id !== undefined, half = single ? 9 : 20;
      var at = inCell(map, L.latLng(lat / total, lng / total), z, entries[0].spec.clusterGrid || 4, half);
      parts.sort(function (a, b) { return (order.indexOf(a.layer) * 1000 + a.rank) - (order.indexOf(b.layer) * 1000 + b.rank); });
      var summary = C.clusterSummary(parts), m;
      if (single) {  // a cell of one feature: the feature
        var e = entries[0], dot = el("span", null, "civic-point-dot");
        dot.style.background = e.parts[0].color;
        dot.style.borderColor = e.parts[0].border;
        dot.appendChild(el("span", e.spec.title, "visually-hidden"));
        m = L.marker(at, { icon: L.divIcon({ html: dot, className: "civic-point civic-point-" + e.spec.layer, iconSize: L.point(18, 18) }),
                           title: e.spec.title, keyboard: true });
        onPress(m, function () { openFeature(map, e.spec, e.id, at); });
      } else {
        var inner = C.clusterBadge(parts, total), size = total < 10 ? "small" : total < 100 ? "medium" : "large";
        inner.title = summary;
        inner.appendChild(el("span", " " + (map._civicClusterItems || "") + ": " + summary, "visually-hidden"));
        var cls = "marker-cluster civic-cluster civic-cluster-" + size, layers = {};
        parts.forEach(function (p) { layers[p.layer] = true; });
        Object.keys(layers).forEach(function (k) { cls += " civic-cluster-" + k; });
        if (Object.keys(layers).length > 1) cls += " civic-cluster-mixed";
        m = L.marker(at, { icon: L.divIcon({ html: inner, className: cls, iconSize: L.point(40, 40) }), keyboard: true });
        var below = Math.max.apply(null, entries.map(function (x) { return x.spec.clusterBelow || z + 2; }));
        onPress(m, function () { map.setView(at, Math.min(z + 2, below)); });
      }
      return m;
    }

    function render(tileKey) {
      var t = byTile[tileKey];
      if (!t) return;
      t.markers.forEach(function (m) { group.removeLayer(m); });
      t.markers = [];
      var byCell = {};
      Object.keys(t.layers).forEach(function (name) {
        t.layers[name].forEach(function (e) { (byCell[e.cell] = byCell[e.cell] || []).push(e); });
      });
      Object.keys(byCell).forEach(function (c) { t.markers.push(marker(byCell[c], t.z).addTo(group)); });
      if (!t.markers.length && !Object.keys(t.layers).length) delete byTile[tileKey];
    }

    map._civicCells = {
      order: order,
      set: function (name, tileKey, z, entries) {
        var t = byTile[tileKey] = byTile[tileKey] || { z: z, layers: {}, markers: [] };
        if (entries.length) t.layers[name] = entries; else delete t.layers[name];
        render(tileKey);
      },
      drop: function (name, tileKey) {
        var t = byTile[tileKey];
        if (!t || !t.layers[name]) return;
        delete t.layers[name];
        render(tileKey);
      },
      count: function () { return group.getLayers().length; }
    };
    return map._civicCells;
  }

  /* ---- clicks on features drawn on the tiles -------------------------------------------- */

  function near(a, b, px, py, tol) {
    var dx = b[0] - a[0], dy = b[1] - a[1], len = dx * dx + dy * dy;
    var t = len ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len)) : 0;
    var x = a[0] + t * dx - px, y = a[1] + t * dy - py;
    return x * x + y * y <= tol * tol;
  }

  function inside(rings, px, py) {
    var odd = false;
    rings.forEach(function (r) {
      for (var i = 0, j = r.length - 1; i < r.length; j = i++) {
        if ((r[i][1] > py) !== (r[j][1] > py) &&
            px < (r[j][0] - r[i][0]) * (py - r[i][1]) / (r[j][1] - r[i][1]) + r[i][0]) odd = !odd;
      }
    });
    return odd;
  }

  function hits(f, px, py, tol, radius) {
    if (f.type === 1) {
      return f.geom.some(function (pts) { return pts.some(function (p) { return near(p, p, px, py, tol + radius); }); });
    }
    var onLine = f.geom.some(function (r) {
      for (var i = 1; i < r.length; i++) if (near(r[i - 1], r[i], px, py, tol)) return true;
      return false;
    });
    return onLine || (f.type === 3 && inside(f.geom, px, py));
  }

  /* The feature under a map point: points before lines before polygons, the top layer first. */
  function featureAt(map, latlng) {
    var z = Math.round(map.getZoom()), p = map.project(latlng, z);
    var tx = Math.floor(p.x / TILE), ty = Math.floor(p.y / TILE), key = tx + ":" + ty + ":" + z;
    var layers = (map._civicTiled || []).filter(function (t) { return map.hasLayer(t.layer); }).reverse();
    for (var type = 1; type <= 3; type++) {
      for (var i = 0; i < layers.length; i++) {
        var t = layers[i], got = t.store[key], l = got && got.data[t.spec.layer];
        if (!l) continue;
        var k = l.extent / TILE, px = (p.x - tx * TILE) * k, py = (p.y - ty * TILE) * k;
        for (var j = l.features.length - 1; j >= 0; j--) {
          var f = l.features[j];
          if (f.type === type && hits(f, px, py, 4 * k, (t.spec.style.radius || 6) * k)) return { spec: t.spec, id: f.properties.id };
        }
      }
    }
    return null;
  }

  function openFeature(map, spec, id, latlng) {
    C.getJSON(spec.url + "/" + encodeURIComponent(String(id))).then(function (f) {
      // pan the popup below the map's top controls (zoom, the layers panel), not under them
      L.popup({ maxWidth: 320, autoPanPaddingTopLeft: L.point(5, 80) })
        .setLatLng(latlng).setContent(C.popupContent(spec, f)).openOn(map);
    }).catch(function (e) { console.error(e); });
  }

  function clicks(map) {
    if (map._civicTiled) return;
    map._civicTiled = [];
    var pending = false;
    map.on("click", function (e) {
      var hit = featureAt(map, e.latlng);
      if (hit) openFeature(map, hit.spec, hit.id, e.latlng);
    });
    map.on("mousemove", function (e) {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        map.getContainer().classList.toggle("civic-over-feature", !!featureAt(map, e.latlng));
      });
    });
  }

  /* ---- one layer ------------------------------------------------------------------------- */

  /* The tiles Leaflet shows for the view (its own range: a row or column visible for less
   * than half a tile is not fetched): [{x, y, z}] or null while the grid has none. */
  function viewTiles(layer) {
    var out = [], tiles = layer._tiles || {};
    Object.keys(tiles).forEach(function (k) {
      if (tiles[k].current && tiles[k].coords.z === layer._tileZoom) out.push(tiles[k].coords);
    });
    return out.length ? out : null;
  }

  function tiled(map, spec, state) {
    C.panes(map);
    clicks(map);
    var store = {}, grid = cells(map), container = map.getContainer();
    if (grid.order.indexOf(spec.layer) < 0) grid.order.push(spec.layer);
    if (spec.i18n && spec.i18n.items && !map._civicClusterItems) map._civicClusterItems = spec.i18n.items;
    var layer = new TileLayer(spec, store, { minZoom: map.getMinZoom() || 0 });
    map._civicTiled.push({ spec: spec, layer: layer, store: store });
    layer.onFetch = function () {
      state.requests += 1;
      container.setAttribute("data-requests-" + spec.layer, String(state.requests));
    };

    function recount() {
      var view = map.hasLayer(layer) && viewTiles(layer);
      if (!view) return;
      var n = 0, ids = {}, error = null, box = [Infinity, Infinity, -Infinity, -Infinity];
      for (var i = 0; i < view.length; i++) {
        var c = view[i], t = store[layer._tileCoordsToKey(c)];
        if (!t) return;  // still loading: counted when it arrives
        if (t.error) error = t.error;
        box = [Math.min(box[0], c.x), Math.min(box[1], c.y), Math.max(box[2], c.x), Math.max(box[3], c.y)];
        var cl = t.data[spec.layer + "-clusters"], f = t.data[spec.layer];
        if (cl) cl.features.forEach(function (k) { n += k.properties.count; });
        if (f) f.features.forEach(function (k) { ids[k.properties.id] = true; });
      }
      container.setAttribute("data-tiles-" + spec.layer, [view[0].z].concat(box).join("/"));
      if (error) C.failed(state, error);
      else C.loaded(map, spec, state, n + Object.keys(ids).length);
    }

    layer.on("tileload tileerror", function (e) {
      var key = layer._tileCoordsToKey(e.coords), t = store[key];
      if (t && spec.clusterBelow) grid.set(spec.layer, key, e.coords.z, tileClusters(map, spec, e.coords, t.data));
      recount();
    });
    layer.on("tileunload", function (e) {
      var key = layer._tileCoordsToKey(e.coords);
      if (e.tile && e.tile._civicAbort) e.tile._civicAbort.abort();
      delete store[key];
      grid.drop(spec.layer, key);
    });
    layer.on("add", function () { C.updateStatus(); });
    layer.on("remove", function () { C.updateStatus(); });
    map.on("moveend", recount);
    return layer;
  }

  C.tiled = tiled;
  C.featureAt = featureAt;
  C.decodeTile = decode;
})();
