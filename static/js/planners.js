/* Civic Map — the planners' maps (app/planners.py).
 *
 * Registers two layer kinds into civicmap.kinds (static/js/civicmap.js):
 *   choropleth  districts (or any features) coloured by a class the server assigned
 *   grid        hexagonal grid cells coloured the same way, with district outlines on top
 * Both fetch GeoJSON from /planners/api/<view>.geojson; every feature carries
 * properties.cls (a key of spec.classes, which holds the colours of the page's legend) and
 * properties.label (a tooltip, inserted with textContent). A 202 answer means the analysis
 * is being computed in the background: the layer polls the job and fetches again.
 *
 * Pages whose analysis is still running show a [data-job-url] box: its progress bar
 * follows /planners/api/jobs/<key> and the page reloads when the result is ready. */
(function () {
  "use strict";

  var cm = window.civicmap;
  var POLL_MS = 1000;

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  function el(tag, text) {
    if (cm && cm.el) return cm.el(tag, text);
    var e = document.createElement(tag);
    e.textContent = text;
    return e;
  }

  function setStatus(text) {
    var live = document.getElementById("map-status");
    if (live) live.textContent = text;
  }

  function request(url) {
    return fetch(url, { credentials: "same-origin",
                        headers: { Accept: "application/geo+json, application/json" } })
      .then(function (r) {
        return r.json().then(function (body) { return { status: r.status, body: body }; });
      });
  }

  /* GeoJSON from a planners' API URL, waiting for a background job when it answers 202. */
  function loadData(url, onProgress) {
    return request(url).then(function (res) {
      if (res.status === 200) return res.body;
      if (res.status === 202 && res.body.status_url) {
        return waitForJob(res.body.status_url, onProgress).then(function () {
          return loadData(url, onProgress);
        });
      }
      var msg = res.body && res.body.error ? res.body.error.message : "HTTP " + res.status;
      throw new Error(msg);
    });
  }

  function waitForJob(statusUrl, onProgress) {
    return new Promise(function (resolve, reject) {
      function tick() {
        request(statusUrl).then(function (res) {
          var st = res.body || {};
          if (res.status === 404 || st.state === "done") { resolve(); return; }
          if (st.state === "failed") { reject(new Error(st.message || "failed")); return; }
          if (onProgress) onProgress(st);
          setTimeout(tick, POLL_MS);
        }).catch(function () { setTimeout(tick, 3 * POLL_MS); });
      }
      setTimeout(tick, POLL_MS);
    });
  }

  function classified(map, spec) {
    var byKey = {};
    (spec.classes || []).forEach(function (c) { byKey[String(c.key)] = c; });
    var i18n = spec.i18n || {};
    // folium drops max_zoom when tiles=None; some plugins need one.
    if (!isFinite(map.getMaxZoom())) map.setMaxZoom(19);
    var pane = "planners-" + (spec.name || spec.kind);
    if (!map.getPane(pane)) map.createPane(pane).style.zIndex = 410;

    function styleOf(f) {
      var c = byKey[String(f.properties && f.properties.cls)] || {};
      return {
        color: c.stroke || "#444444",
        weight: c.weight || 1,
        dashArray: c.dash || null,
        opacity: 0.9,
        fillColor: c.color || "#cccccc",
        fillOpacity: c.fill === undefined ? 0.7 : c.fill
      };
    }

    var layer = L.geoJSON(null, {
      pane: pane,
      style: styleOf,
      pointToLayer: function (f, latlng) {
        var s = styleOf(f);
        s.pane = pane;
        s.radius = 6;
        s.weight = Math.max(1.5, s.weight);
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, lyr) {
        var label = f.properties && f.properties.label;
        if (label) {
          lyr.bindTooltip(function () { return el("span", label); }, { sticky: true, direction: "top" });
        }
      }
    }).addTo(map);

    var container = map.getContainer();
    setStatus(i18n.loading || "");
    loadData(spec.url, function (st) {
      setStatus(fill(i18n.running || "", { p: Math.round((st.progress || 0) * 100),
                                            s: Math.round(st.elapsed_s || 0) }));
    }).then(function (fc) {
      var features = (fc && fc.features) || [];
      layer.addData(fc);
      container.setAttribute("data-loaded-" + (spec.name || spec.kind), String(features.length));
      setStatus(features.length ? fill(i18n.loaded || "{n}", { n: features.length }) : (i18n.empty || ""));
      document.dispatchEvent(new CustomEvent("planners:loaded",
        { detail: { name: spec.name, count: features.length } }));
    }).catch(function (e) {
      container.setAttribute("data-error-" + (spec.name || spec.kind), "1");
      setStatus(i18n.error || String(e));
      console.error(e);
    });

    if (spec.outlines) {
      var top = "planners-outlines";
      if (!map.getPane(top)) {
        var p = map.createPane(top);
        p.style.zIndex = 420;
        p.style.pointerEvents = "none";  // the cells below keep their tooltips
      }
      request(spec.outlines).then(function (res) {
        if (res.status !== 200) return;
        L.geoJSON(res.body, {
          pane: top,
          interactive: false,
          style: { color: "#1f2f3f", weight: 1.3, opacity: 0.85, fill: false }
        }).addTo(map);
      }).catch(function (e) { console.error(e); });
    }
    return layer;
  }

  if (cm && cm.kinds) {
    cm.kinds.choropleth = classified;
    cm.kinds.grid = classified;
  }

  /* A page whose analysis runs in the background: show progress, reload when ready. */
  function followJob(box) {
    var url = box.getAttribute("data-job-url");
    var bar = box.querySelector("[data-job-progress]");
    var text = box.querySelector("[data-job-status]");
    var lastSpoken = 0;
    if (!url || !text) return;
    function tick() {
      request(url).then(function (res) {
        var st = res.body || {};
        if (res.status === 404 || st.state === "done") {
          text.textContent = box.getAttribute("data-i18n-done");
          window.location.reload();
          return;
        }
        if (st.state === "failed") {
          text.textContent = box.getAttribute("data-i18n-failed");
          return;
        }
        var p = Math.round((st.progress || 0) * 100);
        if (bar) bar.value = p;
        var now = Date.now();
        if (now - lastSpoken > 5000) {  // a live region that changes every second is noise
          lastSpoken = now;
          text.textContent = fill(box.getAttribute("data-i18n-running"),
                                  { p: p, s: Math.round(st.elapsed_s || 0) });
        }
        setTimeout(tick, POLL_MS);
      }).catch(function () { setTimeout(tick, 3 * POLL_MS); });
    }
    setTimeout(tick, POLL_MS / 2);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-url]"), followJob);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  window.civicmapPlanners = { loadData: loadData, fill: fill };
})();
