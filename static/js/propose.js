/* Participation pages: drawing with Leaflet-Geoman, the address combobox, proposal and
 * comment layers, the live district read-out. Needs civicmap.js (loaded by base.html).
 * Every string from the data is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var el = window.civicmap.el;
  var state = { drawn: null, map: null, spec: null };

  function byId(id) { return document.getElementById(id); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var live = byId("map-status") || byId("participation-status");
    if (live) live.textContent = text;
  }

  function i18n(key, fallback) {
    var box = byId("participation-i18n");
    if (!box) return fallback;
    var v = box.getAttribute("data-" + key);
    return v === null ? fallback : v;
  }

  /* ---------------------------------------------------------------- map layers */

  function districtsOutline(map, spec) {
    state.map = state.map || map;
    var layer = L.geoJSON(null, {
      interactive: false,
      pmIgnore: true,
      snapIgnore: true,
      style: function () { return { color: "#1f4e79", weight: 1.2, fillOpacity: 0.03, fillColor: "#4f81bd" }; }
    }).addTo(map);
    window.civicmap.getJSON(spec.url).then(function (fc) {
      layer.addData(fc);
      map.getContainer().setAttribute("data-loaded-districts", String(fc.features.length));
    }).catch(function (e) { console.error(e); });
    return layer;
  }

  function popupFor(f, labels, what) {
    var p = f.properties || {};
    var box = el("div", null, "popup");
    var title = el("a", p.title || "—");
    title.href = p.url;
    box.appendChild(el("strong")).appendChild(title);
    var meta = [];
    if (p.status_title) meta.push(p.status_title);
    if (p.category_title) meta.push(p.category_title);
    if (p.whole_district) meta.push(labels.whole_district || "cała dzielnica");
    if (typeof p.supports === "number") meta.push((labels.supports || "Poparcia") + ": " + p.supports);
    if (meta.length) box.appendChild(el("p", meta.join(" · ")));
    return box;
  }

  var COLORS = { proposals: "#b35900", comments: "#1f78b4" };

  function features(map, spec) {
    state.map = state.map || map;
    var labels = spec.labels || {};
    var color = COLORS[spec.what] || "#b35900";
    var byFeature = {};
    function marker(f, latlng) {
      return L.circleMarker(latlng, { radius: 8, color: color, weight: 2, fillColor: color, fillOpacity: 0.6, pmIgnore: true });
    }
    function bind(f, lyr) {
      byFeature[f.id] = lyr;
      lyr.bindPopup(function () { return popupFor(f, labels, spec.what); });
      lyr.bindTooltip(function () { return el("span", f.properties.title || ""); }, { direction: "top" });
    }
    var layer = L.geoJSON(null, {
      pmIgnore: true,
      snapIgnore: true,
      style: function (f) {
        var focus = spec.focus && f.id === spec.focus.id;
        return { color: color, weight: focus ? 4 : 2, fillColor: color, fillOpacity: f.properties.whole_district ? 0.08 : 0.3 };
      },
      pointToLayer: marker,
      onEachFeature: bind
    }).addTo(map);
    window.civicmap.getJSON(spec.url).then(function (fc) {
      layer.addData(fc);
      var n = fc.features.length;
      map.getContainer().setAttribute("data-loaded-" + spec.what, String(n));
      announce((labels.loaded || "%(n)s").replace("%(n)s", String(n)));
      if (spec.focus && byFeature[spec.focus.id]) {
        byFeature[spec.focus.id].openPopup();
      }
    }).catch(function (e) { console.error(e); });
    state[spec.what + "Layer"] = { layer: layer, byFeature: byFeature };
    return layer;
  }

  /* Proposals located only by their district (issue 15.3): no pile of markers on the
   * district's centre, but the district's shape (light fill) with a badge counting them; a
   * click (or Enter on the badge) lists them with links, and the same list is beside the map. */
  function fillIn(text, values) {
    var out = String(text || "");
    Object.keys(values).forEach(function (k) { out = out.split("{" + k + "}").join(String(values[k])); });
    return out;
  }

  function groupList(f, spec) {
    var labels = spec.labels || {}, p = f.properties, box = el("div", null, "district-group");
    var items = p.items || [];
    if (items.length < p.count) box.appendChild(el("p", fillIn(labels.first, { n: items.length }), "district-group-first"));
    var ul = el("ul", null, "district-group-items");
    items.forEach(function (it) {
      var li = el("li"), a = el("a", it.title || ("#" + it.id));
      a.href = it.url;
      li.appendChild(a);
      var meta = [it.status_title, it.edition].filter(function (x) { return x; }).join(" · ");
      if (meta) li.appendChild(el("span", " " + meta, "meta"));
      ul.appendChild(li);
    });
    box.appendChild(ul);
    var all = el("a", (labels.all || "") + " →", "district-group-all");
    all.href = spec.list.replace("{n}", String(p.number));
    box.appendChild(all);
    return box;
  }

  function groupPopup(f, spec) {
    var box = el("div", null, "popup district-group-popup");
    box.appendChild(el("p", fillIn(spec.labels.title, { d: f.properties.full_name, n: f.properties.count }), "popup-title"));
    box.appendChild(groupList(f, spec));
    return box;
  }

  /* A list popup that fits a phone's map: Leaflet scrolls its content beyond maxHeight. */
  function popupOptions(map) {
    var size = map.getSize();
    // clear of the zoom buttons (top left) and the basemap note (bottom left)
    return { maxWidth: Math.max(180, Math.min(320, size.x - 110)), minWidth: Math.min(220, size.x - 110),
             maxHeight: Math.max(150, Math.min(360, size.y - 170)),
             autoPanPaddingTopLeft: L.point(56, 10), autoPanPaddingBottomRight: L.point(10, 70) };
  }

  function districtGroups(map, spec) {
    var labels = spec.labels || {}, color = COLORS.proposals;
    var container = map.getContainer();
    var shapes = L.geoJSON(null, {
      pmIgnore: true,
      snapIgnore: true,
      style: function () { return { color: color, weight: 2, dashArray: "6 4", fillColor: color, fillOpacity: 0.12 }; },
      onEachFeature: function (f, lyr) {
        lyr.bindPopup(function () { return groupPopup(f, spec); }, popupOptions(map));
      }
    }).addTo(map);
    var badges = L.layerGroup().addTo(map);
    window.civicmap.getJSON(spec.url).then(function (fc) {
      shapes.addData(fc);
      var byId = {};
      shapes.eachLayer(function (l) { byId[l.feature.id] = l; });
      fc.features.forEach(function (f) {
        var shape = byId[f.id], where = shape.getBounds().getCenter();
        try { where = shape.getCenter(); } catch (e) { /* a multipolygon: its bounds' centre */ }
        var b = el("span", null, "district-group-badge-box");
        b.appendChild(el("span", String(f.properties.count), "district-group-count"));
        b.appendChild(el("span", " " + fillIn(labels.title, { d: f.properties.full_name, n: f.properties.count }), "visually-hidden"));
        var m = L.marker(where, { icon: L.divIcon({ className: "district-group-badge", html: b, iconSize: L.point(44, 28) }),
                                  keyboard: true, riseOnHover: true });
        m.bindPopup(function () { return groupPopup(f, spec); }, popupOptions(map));
        m.addTo(badges);
      });
      container.setAttribute("data-loaded-district-groups", String(fc.features.length));
      container.setAttribute("data-whole-district", String(fc.total || 0));
      sideList(fc, spec);
    }).catch(function (e) { console.error(e); });
    return shapes;
  }

  /* The same groups beside the map: one disclosure per district (keyboard, screen readers). */
  function sideList(fc, spec) {
    var host = byId("whole-district-list"), status = byId("whole-district-status"), labels = spec.labels || {};
    if (status) {
      var parts = [fc.features.length ? fillIn(labels.count, { n: fc.total || 0 }) : labels.none];
      if (fc.citywide) parts.push(fillIn(labels.citywide, { n: fc.citywide }));
      status.textContent = parts.join(" ");
    }
    if (!host) return;
    while (host.firstChild) host.removeChild(host.firstChild);
    fc.features.forEach(function (f) {
      var li = el("li"), d = el("details");
      d.setAttribute("data-district", String(f.id));
      d.appendChild(el("summary", f.properties.full_name + " (" + f.properties.count + ")"));
      d.appendChild(groupList(f, spec));
      li.appendChild(d);
      host.appendChild(li);
    });
  }

  /* The /proposals legend under the map: the district groups' symbol in the map's colour. */
  function legendSymbols() {
    var area = byId("proposals-legend-area");
    if (area) area.style.borderColor = COLORS.proposals;
  }

  function areas(map, spec) {
    var labels = spec.labels || {};
    var layer = L.geoJSON(null, {
      pmIgnore: true,
      snapIgnore: true,
      interactive: spec.link !== false,
      style: function (f) {
        return { color: "#6a3d9a", weight: 2, fillColor: "#cab2d6", fillOpacity: f.properties.open ? 0.25 : 0.1, dashArray: f.properties.open ? null : "4 4" };
      },
      onEachFeature: function (f, lyr) {
        if (spec.link === false) return;
        lyr.bindPopup(function () {
          var box = el("div", null, "popup");
          var a = el("a", f.properties.title);
          a.href = f.properties.url;
          box.appendChild(el("strong")).appendChild(a);
          box.appendChild(el("p", f.properties.opens_on + " – " + f.properties.closes_on));
          return box;
        });
      }
    }).addTo(map);
    window.civicmap.getJSON(spec.url).then(function (fc) {
      layer.addData(fc);
      map.getContainer().setAttribute("data-loaded-areas", String(fc.features.length));
      if (spec.fit && fc.features.length) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
    }).catch(function (e) { console.error(e); });
    return layer;
  }

  /* ---------------------------------------------------------------- drawing */

  function setGeometry(geometry) {
    var input = byId(state.spec.input);
    if (input) input.value = geometry ? JSON.stringify(geometry) : "";
    var has = byId("geometry-present");
    if (has) has.textContent = geometry ? i18n("drawn-" + geometry.type, geometry.type) : i18n("nothing-drawn", "");
    if (state.spec.districts !== false) showDistricts(geometry);
  }

  function districtOutput(text, isError) {
    var out = byId("district-output");
    if (!out) return;
    out.textContent = text;
    out.classList.toggle("error", !!isError);
  }

  function showDistricts(geometry) {
    if (!geometry) { districtOutput(i18n("no-district", "—")); return; }
    var url = byId("district-output") && byId("district-output").getAttribute("data-url");
    if (!url) return;
    districtOutput(i18n("checking", "…"));
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ geometry: geometry })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) {
        districtOutput((res.body.error && res.body.error.message) || "!", true);
        return;
      }
      var names = res.body.districts.map(function (d) { return d.full_name; });
      districtOutput(names.join(", "));
      var select = byId("district");
      if (select && res.body.districts.length === 1) select.setAttribute("data-drawn", String(res.body.districts[0].number));
      document.dispatchEvent(new CustomEvent("participation:districts", { detail: res.body.districts }));
    }).catch(function () { districtOutput("!", true); });
  }

  function keepOnly(layer) {
    state.drawn.eachLayer(function (l) { if (l !== layer) { state.drawn.removeLayer(l); state.map.removeLayer(l); } });
    if (!state.drawn.hasLayer(layer)) state.drawn.addLayer(layer);
  }

  function watch(layer) {
    layer.on("pm:edit pm:dragend", function () { setGeometry(layer.toGeoJSON().geometry); });
  }

  function draw(map, spec) {
    state.map = map;
    state.spec = spec;
    state.drawn = L.featureGroup().addTo(map);
    if (!map.pm) { console.error("Leaflet-Geoman is not loaded"); return state.drawn; }
    map.pm.setLang(spec.lang === "uk" ? "ua" : (spec.lang || "pl"));
    map.pm.setGlobalOptions({ snappable: false, allowSelfIntersection: false, continueDrawing: false });
    var types = spec.types || ["Point", "LineString", "Polygon"];
    map.pm.addControls({
      position: "topleft",
      drawMarker: types.indexOf("Point") >= 0,
      drawPolyline: types.indexOf("LineString") >= 0,
      drawPolygon: types.indexOf("Polygon") >= 0,
      drawCircleMarker: false, drawCircle: false, drawRectangle: false, drawText: false,
      editMode: true, dragMode: true, cutPolygon: false, removalMode: true, rotateMode: false
    });
    // Geoman puts the title on a wrapper; give each button its own accessible name.
    map.getContainer().querySelectorAll(".leaflet-pm-toolbar .button-container").forEach(function (c) {
      var a = c.querySelector(".leaflet-buttons-control-button");
      if (a && c.title) a.setAttribute("aria-label", c.title);
    });
    map.on("pm:create", function (e) {
      keepOnly(e.layer);
      watch(e.layer);
      setGeometry(e.layer.toGeoJSON().geometry);
      selectMode("map");
    });
    map.on("pm:remove", function (e) {
      state.drawn.removeLayer(e.layer);
      if (!state.drawn.getLayers().length) setGeometry(null);
    });
    if (spec.initial && spec.initial.type) {
      var initial = L.geoJSON(spec.initial, {
        pointToLayer: function (f, latlng) { return L.marker(latlng); }
      });
      initial.eachLayer(function (l) { state.drawn.addLayer(l); watch(l); });
      if (state.drawn.getLayers().length) map.fitBounds(state.drawn.getBounds(), { maxZoom: 16, padding: [30, 30] });
      setGeometry(spec.initial);
    }
    map.getContainer().setAttribute("data-draw-ready", "1");
    return state.drawn;
  }

  /* A point chosen in the address search becomes the drawn geometry. */
  function setPoint(lon, lat) {
    if (!state.map) return;
    var marker = L.marker([lat, lon]);
    keepOnly(marker);
    watch(marker);
    state.map.setView([lat, lon], Math.max(state.map.getZoom(), 16));
    setGeometry({ type: "Point", coordinates: [lon, lat] });
  }

  /* A map search box (not a form field): only move the map and mark the place. */
  var found = null;
  function moveTo(lon, lat) {
    state.map = state.map || (window.civicmap && window.civicmap.map);
    if (!state.map) return;
    if (found) state.map.removeLayer(found);
    found = L.circleMarker([lat, lon], { radius: 10, color: "#b30000", weight: 3, fillOpacity: 0, interactive: false, pmIgnore: true }).addTo(state.map);
    state.map.setView([lat, lon], Math.max(state.map.getZoom(), 16));
  }

  function clearDrawn() {
    if (!state.drawn) return;
    state.drawn.eachLayer(function (l) { state.map.removeLayer(l); });
    state.drawn.clearLayers();
    setGeometry(null);
  }

  /* ---------------------------------------------------------------- form behaviour */

  var modeName = "location";

  function selectMode(mode) {
    var radio = document.querySelector('input[name="' + modeName + '"][value="' + mode + '"]');
    if (radio && !radio.checked) { radio.checked = true; syncMode(); }
  }

  function syncMode() {
    var checked = document.querySelector('input[name="' + modeName + '"]:checked');
    var mode = checked ? checked.value : null;
    document.querySelectorAll("[data-when-" + modeName + "]").forEach(function (panel) {
      var wanted = panel.getAttribute("data-when-" + modeName).split(" ");
      panel.hidden = wanted.indexOf(mode) < 0;
    });
    var scopeDistrict = byId("scope-district"), scopeCity = byId("scope-citywide");
    if (mode === "city" && scopeCity) scopeCity.checked = true;
    if (mode === "district" && scopeDistrict) scopeDistrict.checked = true;
    if ((mode === "district" || mode === "city" || mode === "whole") && state.drawn && state.drawn.getLayers().length) clearDrawn();
    if (mode === "district") {
      var sel = byId("district");
      districtOutput(sel && sel.value ? sel.options[sel.selectedIndex].text : i18n("no-district", "—"));
    } else if (mode === "city") {
      districtOutput(i18n("citywide", ""));
    }
    costHint();
  }

  function limits() {
    var box = byId("cost-limits");
    if (!box) return null;
    try { return JSON.parse(box.textContent); } catch (e) { return null; }
  }

  var lastDistricts = [];
  document.addEventListener("participation:districts", function (e) { lastDistricts = e.detail; costHint(); });

  function fmt(n) { return Number(n).toLocaleString(document.documentElement.lang || "pl") + " zł"; }

  function costHint() {
    var hint = byId("cost-range");
    var all = limits();
    if (!hint || !all) return;
    var scope = (document.querySelector('input[name="scope"]:checked') || {}).value;
    var range = null;
    if (scope === "citywide") range = all.citywide;
    else {
      var mode = (document.querySelector('input[name="location"]:checked') || {}).value;
      var n = null;
      if (mode === "district") n = (byId("district") || {}).value;
      else if (lastDistricts.length === 1) n = lastDistricts[0].number;
      if (n) range = all.district[String(n)];
    }
    hint.textContent = range ? i18n("cost-range", "%(low)s – %(high)s").replace("%(low)s", fmt(range[0])).replace("%(high)s", fmt(range[1])) : i18n("cost-range-unknown", "");
  }

  function titleCounter() {
    var input = byId("title"), out = byId("title-count");
    if (!input || !out) return;
    var max = Number(input.getAttribute("maxlength")) || 60;
    var update = function () { out.textContent = String(input.value.length) + " / " + max; };
    input.addEventListener("input", update);
    update();
  }

  function photoCheck() {
    var input = byId("photo");
    if (!input) return;
    input.addEventListener("change", function () {
      var err = byId("photo-client-error");
      var f = input.files && input.files[0];
      var bad = f && (f.size > 5 * 1024 * 1024 || !/^image\/(jpeg|png)$/.test(f.type));
      if (err) err.textContent = bad ? i18n("photo-bad", "JPEG/PNG, max 5 MB") : "";
      input.setCustomValidity(bad ? i18n("photo-bad", "JPEG/PNG, max 5 MB") : "");
    });
  }

  /* ---------------------------------------------------------------- address combobox */

  function combobox(input) {
    var list = byId(input.getAttribute("aria-controls"));
    var status = byId(input.id + "-status");
    var url = input.getAttribute("data-url");
    var options = [], active = -1, timer = null, seq = 0;
    var kinds = {};
    try { kinds = JSON.parse(input.getAttribute("data-kinds") || "{}"); } catch (e) { kinds = {}; }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      var items = list.querySelectorAll('[role="option"]');
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); li.classList.toggle("active", j === i); });
      active = i;
      if (i >= 0 && items[i]) {
        input.setAttribute("aria-activedescendant", items[i].id);
        items[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function districtNames(p) {
      // a street may cross districts: name them all
      if (p.districts && p.districts.length > 1) return p.districts.map(function (d) { return d.name; }).join(", ");
      return p.district_full_name || "";
    }

    function label(f) {
      var p = f.properties;
      var parts = [kinds[p.kind] || p.kind];
      if (p.kind !== "district" && districtNames(p)) parts.push(districtNames(p));
      return parts.join(", ");
    }

    function render(fc) {
      list.textContent = "";
      options = fc.features;
      options.forEach(function (f, i) {
        var li = el("li", null, "option");
        li.id = input.id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.appendChild(el("span", f.properties.name, "name"));
        li.appendChild(el("span", " — " + label(f), "kind"));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = i18n("suggestions", "%(n)s").replace("%(n)s", String(options.length));
      } else {
        close();
        status.textContent = i18n("no-suggestions", "");
      }
      active = -1;
    }

    function search() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      var mine = ++seq;
      window.civicmap.getJSON(url + "?limit=8&q=" + encodeURIComponent(q)).then(function (fc) {
        if (mine === seq) render(fc);
      }).catch(function () { if (mine === seq) close(); });
    }

    function choose(i) {
      var f = options[i];
      if (!f) return;
      input.value = f.properties.name;
      close();
      var c = f.geometry.coordinates;
      var chosen = byId(input.id + "-chosen");
      var names = districtNames(f.properties);
      var text = f.properties.name + (names ? " — " + names : "");
      if (chosen) chosen.textContent = text;
      status.textContent = i18n("chosen", "%(name)s").replace("%(name)s", text);
      if (f.bbox && f.properties.kind === "street") {
        // a street: show all of it and let the resident put the pin at the right spot
        state.map = state.map || (window.civicmap && window.civicmap.map);
        if (state.map) state.map.fitBounds([[f.bbox[1], f.bbox[0]], [f.bbox[3], f.bbox[2]]], { maxZoom: 17 });
        status.textContent += " " + i18n("street-pin", "");
        if (chosen) chosen.textContent = text + " " + i18n("street-pin", "");
        return;
      }
      if (input.getAttribute("data-action") === "move") { moveTo(c[0], c[1]); return; }
      setPoint(c[0], c[1]);
      if (f.properties.district_full_name) districtOutput(f.properties.district_full_name);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (e) {
      var n = options.length;
      if (e.key === "ArrowDown") {
        e.preventDefault();
        if (list.hidden && n) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        if (n) highlight((active + 1) % n);
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        if (n) highlight(active <= 0 ? n - 1 : active - 1);
      } else if (e.key === "Enter") {
        if (!list.hidden && active >= 0) { e.preventDefault(); choose(active); }
        else if (!list.hidden && n) { e.preventDefault(); choose(0); }
      } else if (e.key === "Escape") {
        if (!list.hidden) { e.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  /* ---------------------------------------------------------------- start */

  function init() {
    var form = document.querySelector("form[data-participation]");
    if (form) {
      modeName = form.getAttribute("data-mode-name") || "location";
      document.querySelectorAll('input[name="' + modeName + '"]').forEach(function (r) { r.addEventListener("change", syncMode); });
      document.querySelectorAll('input[name="scope"]').forEach(function (r) { r.addEventListener("change", costHint); });
      var sel = byId("district");
      if (sel) sel.addEventListener("change", function () { syncMode(); });
      syncMode();
    }
    document.querySelectorAll('input[role="combobox"][data-url]').forEach(combobox);
    titleCounter();
    photoCheck();
    legendSymbols();
  }

  window.civicmap.kinds["participation-districts"] = districtsOutline;
  window.civicmap.kinds["participation-features"] = features;
  window.civicmap.kinds["participation-areas"] = areas;
  window.civicmap.kinds["participation-district-groups"] = districtGroups;
  window.civicmap.kinds["participation-draw"] = draw;
  window.participation = { setPoint: setPoint, clear: clearDrawn, state: state };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
