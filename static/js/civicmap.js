/* Civic Map: loads map layers from our own API and draws them.
 * Every string from the data is inserted with textContent, never as HTML.
 *
 * Layer kinds (app/maps.py CivicLayer hands each spec to civicmap.addLayer):
 *   districts  the district outlines, linking to /districts/<n>
 *   features   one registered layer (app/views.py map_spec): its vector tiles for the view,
 *              with exact clusters shared by all the map's layers (civictiles.js), or on a
 *              feature's own page that one feature from /api/layers/<layer>/features/<id>.
 *   basemap    the streets, through our own /basemap/ proxy.
 * Cluster badges and the markercluster group of GeoJSON maps are in civicclusters.js.
 * One control per map lists the feature layers (checkboxes) with their legend, and lists
 * marked data-api beside the map can follow the map's view (civicmap.initLists). */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function getJSON(url, signal) {
    return fetch(url, { credentials: "same-origin", signal: signal,
                        headers: { Accept: "application/geo+json, application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.json();
      });
  }

  function announce(map, text) {
    var live = document.getElementById("map-status");
    if (live) live.textContent = text;
  }

  function fill(template, n) {
    return String(template).replace("{n}", String(n));
  }

  function districts(map, spec) {
    var layer = L.geoJSON(null, {
      style: function (f) {
        var sel = spec.selected && f.id === spec.selected;
        return { color: sel ? "#b30000" : "#1f4e79", weight: sel ? 3 : 1.5,
                 fillColor: sel ? "#ffcc00" : "#4f81bd", fillOpacity: sel ? 0.25 : 0.08 };
      },
      onEachFeature: function (f, lyr) {
        lyr.bindTooltip(function () { return el("span", f.properties.full_name); },
                        { sticky: true, direction: "top" });
        lyr.on("click", function (e) {
          // a feature drawn on the tiles above the district answers the click (civictiles.js)
          if (window.civicmap.featureAt && window.civicmap.featureAt(map, e.latlng)) return;
          window.location.href = spec.link.replace("{n}", String(f.id));
        });
      }
    }).addTo(map);
    getJSON(spec.url).then(function (fc) {
      layer.addData(fc);
      fc.features.forEach(function (f) {
        var c = L.geoJSON(f).getBounds().getCenter();
        L.marker(c, { interactive: false, keyboard: false,
                      icon: L.divIcon({ className: "district-label", html: "", iconSize: null }) })
          .addTo(map).getElement().appendChild(el("span", f.properties.name));
      });
      map.getContainer().setAttribute("data-loaded-districts", String(fc.features.length));
      // The feature layers report their own counts in the status line.
      if (!Object.keys(registry.layers).length) announce(map, fc.features.length + " districts");
    }).catch(function (e) { console.error(e); });
    return layer;
  }

  /* ---- feature layers ------------------------------------------------------------ */

  var registry = { specs: {}, layers: {}, maps: [] };

  function panes(map) {
    if (!map.getPane("civicShapes")) {
      map.createPane("civicShapes").style.zIndex = 420;  // above district outlines (400)
      map.createPane("civicPoints").style.zIndex = 450;
    }
  }

  function fieldByName(spec) {
    var out = {};
    (spec.fields || []).forEach(function (f) { out[f.name] = f; });
    return out;
  }

  function formatValue(spec, f, v) {
    if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) return "";
    var lang = spec.lang || "pl";
    if (f.type === "bool") return v ? spec.i18n.yes : spec.i18n.no;
    if (f.type === "money") {
      return new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(Number(v)) + " zł";
    }
    if (Array.isArray(v)) {
      return v.map(function (x) { return (f.choices && f.choices[x]) || String(x); }).join(", ");
    }
    if (f.choices && f.choices[v]) return f.choices[v];
    return String(v);
  }

  function colorOf(spec, props) {
    if (spec.colorBy) {
      var v = props[spec.colorBy];
      for (var i = 0; i < spec.legend.length; i++) {
        if (spec.legend[i].value === v) return spec.legend[i].color;
      }
    }
    return null;
  }

  function pathStyle(spec, props) {
    var s = spec.style, c = colorOf(spec, props);
    return { color: c || s.color, fillColor: c || s.fillColor, weight: s.weight,
             fillOpacity: s.fillOpacity, opacity: 0.9 };
  }

  function titleOf(spec, f) {
    var t = f.properties[spec.titleField];
    if (t === null || t === undefined || t === "") return spec.title + " #" + f.id;
    t = String(t);
    return t.length > 140 ? t.slice(0, 139) + "…" : t;
  }

  function permalinkOf(spec, id) { return spec.permalink.replace("{id}", String(id)); }

  /* A URL a popup may use: our own (root-relative, not "//" nor "/\") or http(s); anything
   * else (javascript:, data:) none. */
  function safeUrl(v) {
    v = typeof v === "string" ? v : "";
    return (/^\/(?![\/\\])/.test(v) || /^https?:\/\//i.test(v)) ? v : null;
  }

  /* A field of type "image" (a photo's URL): a thumbnail of a fixed size, so the popup does
   * not change size when it loads; alt = the field's title and the feature's. */
  function popupImage(spec, fld, f, url) {
    var p = el("p", null, "popup-photo"), img = document.createElement("img");
    img.src = url;
    img.alt = fld.title + ": " + titleOf(spec, f);
    img.decoding = "async";
    img.style.cssText = "display:block;width:100%;height:8rem;object-fit:cover;border-radius:3px";
    p.style.margin = "0 0 .3rem";
    p.appendChild(img);
    return p;
  }

  /* A popup as DOM nodes: every value goes in with textContent. */
  function popupContent(spec, f) {
    var byName = fieldByName(spec), box = el("div", null, "civic-popup");
    box.appendChild(el("p", spec.title, "popup-layer"));
    var p = el("p", null, "popup-title"), a = el("a", titleOf(spec, f));
    a.href = permalinkOf(spec, f.id);
    p.appendChild(a);
    box.appendChild(p);
    var dl = el("dl"), after = [];
    (spec.popupFields || []).forEach(function (name) {
      var fld = byName[name];
      if (!fld || name === spec.titleField) return;
      if (fld.type === "image" || fld.type === "url") {  // below the list: a photo, a link
        var url = safeUrl(f.properties[name]);
        if (!url) return;
        if (fld.type === "image") after.push(popupImage(spec, fld, f, url));
        else {
          var link = el("a", fld.title + " →", "popup-link");
          link.href = url;
          link.style.display = "block";
          after.push(link);
        }
        return;
      }
      var text = formatValue(spec, fld, f.properties[name]);
      if (!text) return;
      dl.appendChild(el("dt", fld.title));
      dl.appendChild(el("dd", text.length > 300 ? text.slice(0, 299) + "…" : text));
    });
    if (dl.childNodes.length) box.appendChild(dl);
    after.forEach(function (n) { box.appendChild(n); });
    var more = el("a", spec.i18n.details + " →", "popup-more");
    more.href = permalinkOf(spec, f.id);
    box.appendChild(more);
    return box;
  }


  function bboxParam(map) {
    var b = map.getBounds();
    function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
    return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
            clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  /* Leaflet silently drops a setView/fitBounds made while a zoom animation runs (the
   * page's own fitBounds at start-up animates): wait for it to end. */
  function whenIdle(map, fn) {
    if (map._animatingZoom) map.once("zoomend", function () { whenIdle(map, fn); });
    else fn();
  }

  /* One registered layer on a map: its vector tiles for a view (civictiles.js), or one
   * feature from the API (its own page). */
  function features(map, spec) {
    panes(map);
    registry.specs[spec.layer] = spec;
    if (registry.maps.indexOf(map) < 0) registry.maps.push(map);
    var state = { spec: spec, count: 0, requests: 0, error: null };
    registry.layers[spec.layer] = state;
    state.group = spec.featureUrl ? single(map, spec, state) : window.civicmap.tiled(map, spec, state);
    panel(map, spec).add(spec, state.group, state);
    if (spec.visible !== false) state.group.addTo(map);
    return state.group;
  }

  /* A layer has shown ``n`` features: the panel, the status line and the tests learn it. */
  function loaded(map, spec, state, n) {
    state.count = n;
    state.error = null;
    map.getContainer().setAttribute("data-loaded-" + spec.layer, String(n));
    updateStatus();
    document.dispatchEvent(new CustomEvent("civicmap:loaded", { detail: { layer: spec.layer } }));
  }

  function failed(state, e) {
    state.error = e;
    updateStatus();
    console.error(e);
  }

  function single(map, spec, state) {
    var group = L.geoJSON(null, {
      pane: "civicShapes",
      style: function (f) { return pathStyle(spec, f.properties); },
      pointToLayer: function (f, latlng) {
        var st = pathStyle(spec, f.properties);
        return L.circleMarker(latlng, { pane: "civicPoints", radius: spec.style.radius, color: st.color,
                                        weight: 1.5, fillColor: st.fillColor, fillOpacity: 0.85 });
      },
      onEachFeature: function (f, lyr) { lyr.bindPopup(function () { return popupContent(spec, f); }); }
    });
    group.on("add", function () {
      if (state.count || state.requests) return;
      state.requests += 1;
      getJSON(spec.featureUrl).then(function (f) {
        group.addData(f);
        loaded(map, spec, state, 1);
        var b = group.getBounds();
        if (!map._civicFromHash) whenIdle(map, function () {
          // A point has zero extent, where fitBounds' padding makes the zoom arbitrary.
          if (b.isValid() && b.getSouthWest().equals(b.getNorthEast())) map.setView(b.getCenter(), 17);
          else if (b.isValid()) map.fitBounds(b, { maxZoom: 17, padding: [30, 30] });
        });
      }).catch(function (e) { state.requests = 0; failed(state, e); });
    });
    group.on("add remove", function () { updateStatus(); });
    return group;
  }

  /* The status line under the map: how many features each visible layer shows. */
  function updateStatus() {
    var parts = [], any = null;
    Object.keys(registry.layers).forEach(function (name) {
      var st = registry.layers[name], sp = st.spec;
      var shown = registry.maps.some(function (m) { return m.hasLayer(st.group); });
      var row = document.querySelector('[data-panel-count="' + name + '"]');
      if (row) row.textContent = shown ? "(" + st.count + ")" : "";
      // A legend only for what is on the map: eight statuses of an empty layer are noise.
      var leg = document.querySelector('[data-panel-legend="' + name + '"]');
      if (leg) leg.hidden = !shown || !st.count;
      if (!shown || sp.featureUrl) return;
      any = sp;
      if (st.error) { parts.push(sp.title + ": " + sp.i18n.error); return; }
      if (!st.count) return;
      parts.push(sp.title + ": " + st.count);
    });
    panels.forEach(function (p) { if (p.refreshCluster) p.refreshCluster(); });
    var live = document.getElementById("map-status");
    if (live && any) live.textContent = parts.length ? parts.join(" · ") : fill(any.i18n.loaded, 0);
  }

  /* ---- the layer switcher and legend (one control per map) ----------------------------- */

  var panels = [];

  function panel(map, spec) {
    for (var i = 0; i < panels.length; i++) if (panels[i].map === map) return panels[i];
    var details = el("details", null, "civic-panel");
    var summary = el("summary", spec.i18n.panel);
    details.appendChild(summary);
    var fieldset = el("fieldset");
    fieldset.appendChild(el("legend", spec.i18n.layers, "visually-hidden"));
    details.appendChild(fieldset);
    // A wide map keeps its legend open BESIDE it (never over the data); a phone's map has it
    // folded in a control at its corner.
    var wrap = map.getContainer().parentNode;
    if (map.getSize().x >= 640 && wrap && wrap.classList.contains("map-wrap")) {
      var side = el("aside", null, "civic-panel-box civic-panel-side");
      side.setAttribute("aria-label", spec.i18n.panel);
      side.appendChild(details);
      wrap.classList.add("has-side");
      wrap.appendChild(side);
      details.open = true;
      map.invalidateSize();
    } else {
      var Control = L.Control.extend({
        options: { position: "topright" },
        onAdd: function () {
          var box = L.DomUtil.create("div", "leaflet-control civic-panel-box");
          box.appendChild(details);
          L.DomEvent.disableClickPropagation(box);
          L.DomEvent.disableScrollPropagation(box);
          return box;
        }
      });
      new Control().addTo(map);
    }
    var p = {
      map: map,
      add: function (sp, group, state) {
        var row = el("div", null, "civic-panel-layer");
        var id = map.getContainer().id + "-layer-" + sp.layer;
        var input = el("input");
        input.type = "checkbox";
        input.id = id;
        input.checked = sp.visible !== false;
        input.setAttribute("data-layer", sp.layer);
        var label = el("label");
        label.htmlFor = id;
        var sw = el("span", null, "swatch");
        sw.style.background = swatchFill(sp);
        sw.style.borderColor = sp.style.color;
        sw.setAttribute("aria-hidden", "true");
        label.appendChild(sw);
        label.appendChild(document.createTextNode(sp.title + " "));
        var count = el("span", "", "count");
        count.setAttribute("data-panel-count", sp.layer);
        label.appendChild(count);
        row.appendChild(input);
        row.appendChild(label);
        input.addEventListener("change", function () {
          if (input.checked) map.addLayer(group); else map.removeLayer(group);
        });
        if (sp.legend && sp.legend.length) {
          var ul = el("ul", null, "civic-legend");
          ul.setAttribute("aria-label", sp.i18n.legend + ": " + sp.title);
          ul.setAttribute("data-panel-legend", sp.layer);
          ul.hidden = true;
          sp.legend.forEach(function (entry) {
            var li = el("li"), s = el("span", null, "swatch");
            s.style.background = entry.color;
            s.setAttribute("aria-hidden", "true");
            li.appendChild(s);
            li.appendChild(document.createTextNode(entry.title));
            ul.appendChild(li);
          });
          row.appendChild(ul);
        }
        fieldset.appendChild(row);
        if (sp.style.cluster && !sp.featureUrl) clusterLegend(sp);
      }
    };
    var clustered = [], sample = null;
    function clusterLegend(sp) {
      clustered.push(sp);
      if (!sample) {
        sample = el("p", null, "civic-legend-cluster");
        sample.setAttribute("data-panel-cluster", "");
        sample.hidden = true;
        details.appendChild(sample);
      }
    }
    /* The legend's cluster symbol: the same badge as on the map, in the colours of the
     * clustered layers now on the map (each layer's legend colours, or its own colour). */
    p.refreshCluster = function () {
      if (!sample) return;
      var parts = [];
      clustered.forEach(function (c) {
        var st = registry.layers[c.layer];
        if (!st || !map.hasLayer(st.group) || !st.count) return;
        var colours = c.colorBy && c.legend.length ? c.legend.map(function (e) { return e.color; })
                                                    : [c.style.fillColor || c.style.color];
        colours.forEach(function (col) { parts.push({ layer: c.layer, title: c.title, color: col, border: c.style.color, n: 1 }); });
      });
      while (sample.firstChild) sample.removeChild(sample.firstChild);
      sample.hidden = !parts.length;
      if (!parts.length) return;
      var box = el("span", null, "civic-cluster civic-cluster-sample");
      box.setAttribute("aria-hidden", "true");
      box.appendChild(window.civicmap.clusterBadge(parts, "n"));
      sample.appendChild(box);
      sample.appendChild(el("span", clustered[0].i18n.cluster || ""));
    };
    panels.push(p);
    return p;
  }

  /* A layer's swatch: its colour, or the legend's colours when the map colours it by value. */
  function swatchFill(sp) {
    if (!sp.colorBy || !sp.legend || !sp.legend.length) return sp.style.fillColor;
    if (sp.legend.length === 1) return sp.legend[0].color;
    var step = 360 / sp.legend.length;
    return "conic-gradient(" + sp.legend.map(function (e, i) {
      return e.color + " " + (i * step).toFixed(1) + "deg " + ((i + 1) * step).toFixed(1) + "deg";
    }).join(", ") + ")";
  }

  /* ---- lists beside the map that follow its view ---------------------------------------- */

  function listItem(spec, f) {
    var byName = fieldByName(spec), li = el("li");
    li.setAttribute("data-id", String(f.id));
    var a = el("a", titleOf(spec, f));
    a.href = permalinkOf(spec, f.id);
    li.appendChild(a);
    var meta = el("span", null, "meta");
    (spec.listFields || []).forEach(function (name) {
      var fld = byName[name];
      if (!fld || name === spec.titleField) return;
      var text = formatValue(spec, fld, f.properties[name]);
      if (text) meta.appendChild(el("span", fld.title + ": " + (text.length > 200 ? text.slice(0, 199) + "…" : text)));
    });
    if (meta.childNodes.length) { li.appendChild(document.createTextNode(" ")); li.appendChild(meta); }
    return li;
  }

  function initLists() {
    var host = document.querySelector("[data-list-live]");
    var map = registry.maps[0];
    var lists = Array.prototype.slice.call(document.querySelectorAll("ul.feature-list[data-api]"));
    if (!host || !map || !lists.length) return;
    var any = registry.specs[lists[0].getAttribute("data-layer")];
    if (!any) return;
    var input = el("input"), label = el("label");
    input.type = "checkbox";
    input.id = "list-follow-map";
    label.htmlFor = "list-follow-map";
    label.textContent = any.i18n.visibleOnly;
    host.appendChild(input);
    host.appendChild(label);
    var saved = lists.map(function (ul) { return Array.prototype.slice.call(ul.childNodes); });
    var controllers = {}, timer = null;
    var status = document.getElementById("list-status");

    function refresh() {
      var total = 0, pending = lists.length;
      lists.forEach(function (ul) {
        var name = ul.getAttribute("data-layer"), spec = registry.specs[name];
        if (!spec) { pending -= 1; return; }
        if (controllers[name]) controllers[name].abort();
        var ctrl = controllers[name] = new AbortController();
        var url = new URL(ul.getAttribute("data-api"), window.location.href);
        url.searchParams.set("bbox", bboxParam(map));
        url.searchParams.set("limit", "50");
        getJSON(url.pathname + url.search, ctrl.signal).then(function (fc) {
          if (ctrl !== controllers[name]) return;
          while (ul.firstChild) ul.removeChild(ul.firstChild);
          fc.features.forEach(function (f) { ul.appendChild(listItem(spec, f)); });
          total += fc.features.length;
          pending -= 1;
          if (!pending && status) {
            status.textContent = total ? fill(spec.i18n.listLoaded, total + (fc.next ? "+" : "")) : spec.i18n.listEmpty;
          }
          ul.setAttribute("data-live-count", String(fc.features.length));
        }).catch(function (e) { if (!e || e.name !== "AbortError") console.error(e); });
      });
    }

    function restore() {
      lists.forEach(function (ul, i) {
        while (ul.firstChild) ul.removeChild(ul.firstChild);
        saved[i].forEach(function (n) { ul.appendChild(n); });
        ul.removeAttribute("data-live-count");
      });
      if (status) status.textContent = "";
    }

    function toggleStatic(hide) {
      Array.prototype.forEach.call(document.querySelectorAll(".feature-section .pager, .feature-section .empty"),
        function (n) { n.hidden = hide; });
    }

    input.addEventListener("change", function () {
      toggleStatic(input.checked);
      if (input.checked) refresh(); else restore();
    });
    map.on("moveend", function () {
      if (!input.checked) return;
      clearTimeout(timer);
      timer = setTimeout(refresh, DEBOUNCE_MS);
    });
  }

  /* ---- the basemap, through our own /basemap/ proxy (app/basemap) ----------------------- */

  function note(map, text) {
    var box = map.getContainer().querySelector(".basemap-note");
    if (!box) {
      var Control = L.Control.extend({
        options: { position: "bottomleft" },
        onAdd: function () {
          var d = L.DomUtil.create("div", "leaflet-control basemap-note");
          d.setAttribute("role", "status");
          return d;
        }
      });
      new Control().addTo(map);
      box = map.getContainer().querySelector(".basemap-note");
    }
    box.textContent = text || "";
    box.hidden = !text;
  }

  function basemap(map, spec) {
    var container = map.getContainer(), i18n = spec.i18n || {};
    if (spec.fit) map.fitBounds(spec.fit, { animate: false });  // the page's view (app/maps.py)
    if (!spec.url) {
      container.setAttribute("data-basemap", "none");
      note(map, i18n.none);
      return null;
    }
    var attribution = spec.attribution;
    if (spec.attribution_url) {
      var a = el("a", spec.attribution);
      a.href = spec.attribution_url;
      attribution = a.outerHTML;  // Leaflet takes HTML; the text went in with textContent
    } else {
      attribution = el("span", spec.attribution).outerHTML;
    }
    var layer = L.tileLayer(spec.url, { minZoom: spec.min_zoom, maxZoom: spec.max_zoom,
                                        maxNativeZoom: spec.max_zoom, attribution: attribution,
                                        crossOrigin: false });
    var ok = 0, failed = 0;
    layer.on("loading", function () { ok = 0; failed = 0; });
    layer.on("tileload", function () {
      ok += 1;
      container.setAttribute("data-basemap", "ok");
      note(map, "");
    });
    layer.on("tileerror", function (e) {
      failed += 1;
      if (e.tile) e.tile.classList.add("basemap-missing");  // no broken-image squares
      if (!ok) {
        container.setAttribute("data-basemap", "offline");
        note(map, i18n.offline);
      }
    });
    container.setAttribute("data-basemap", "loading");
    layer.addTo(map);
    return layer;
  }

  /* ---- permalinks of views: #map=zoom/lat/lon&layers=a,b (back and shared links) --------- */

  var HASH = /(?:^#|&)map=(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)/;

  function readHash() {
    var h = window.location.hash || "", m = HASH.exec(h), out = {};
    if (m) out.view = { zoom: Number(m[1]), lat: Number(m[2]), lon: Number(m[3]) };
    var l = /(?:^#|&)layers=([^&]*)/.exec(h);
    if (l) out.layers = decodeURIComponent(l[1]).split(",").filter(Boolean);
    return out;
  }

  function writeHash(map) {
    var c = map.getCenter(), z = map.getZoom();
    var shown = [];
    Object.keys(registry.layers).forEach(function (name) {
      if (map.hasLayer(registry.layers[name].group)) shown.push(name);
    });
    var h = "#map=" + z + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5);
    if (Object.keys(registry.layers).length) h += "&layers=" + shown.map(encodeURIComponent).join(",");
    if (h !== window.location.hash) {
      history.replaceState(history.state, "", window.location.pathname + window.location.search + h);
    }
  }

  function applyHash(map) {
    var st = readHash();
    if (st.layers) {
      Object.keys(registry.layers).forEach(function (name) {
        var on = st.layers.indexOf(name) >= 0, g = registry.layers[name].group;
        var box = document.getElementById(map.getContainer().id + "-layer-" + name);  // the panel may be beside the map
        if (box) box.checked = on;
        if (on && !map.hasLayer(g)) map.addLayer(g);
        if (!on && map.hasLayer(g)) map.removeLayer(g);
      });
    }
    if (st.view && isFinite(st.view.lat) && isFinite(st.view.lon)) {
      whenIdle(map, function () { map.setView([st.view.lat, st.view.lon], st.view.zoom, { animate: false }); });
      return true;
    }
    return false;
  }

  function permalinks(map) {
    if (map._civicPermalinks || registry.maps.indexOf(map) > 0) return;
    map._civicPermalinks = true;
    // After the page's whole map script (its own fitBounds included) has run.
    setTimeout(function () {
      map._civicFromHash = applyHash(map);
      map.on("moveend", function () { writeHash(map); });
      map.on("layeradd layerremove", function () { clearTimeout(map._civicHashTimer);
        map._civicHashTimer = setTimeout(function () { writeHash(map); }, 50); });
      window.addEventListener("hashchange", function () { applyHash(map); });
      window.addEventListener("popstate", function () { applyHash(map); });
    }, 0);
  }

  var kinds = { districts: districts, features: features, basemap: basemap };

  window.civicmap = {
    el: el,
    getJSON: getJSON,
    kinds: kinds,
    specs: registry.specs,
    layers: registry.layers,
    maps: registry.maps,
    initLists: initLists,
    panes: panes,
    pathStyle: pathStyle,
    loaded: loaded,
    failed: failed,
    popupContent: popupContent,
    note: note,
    whenIdle: whenIdle,
    updateStatus: function () { updateStatus(); },
    addLayer: function (map, spec) {
      window.civicmap.map = window.civicmap.map || map;  // the page's map, for other scripts
      if (registry.maps.indexOf(map) < 0) registry.maps.push(map);
      permalinks(map);
      var make = kinds[spec.kind];
      if (!make) { console.error("unknown layer kind " + spec.kind); return null; }
      return make(map, spec);
    }
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initLists);
  } else {
    setTimeout(initLists, 0);
  }
})();
