/* Civic Map: loads map layers from our own API and draws them.
 * Every string from the data is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.json();
      });
  }

  function announce(map, text) {
    var live = document.getElementById("map-status");
    if (live) live.textContent = text;
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
        lyr.on("click", function () {
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
      announce(map, fc.features.length + " districts");
    }).catch(function (e) { console.error(e); });
    return layer;
  }

  var kinds = { districts: districts };

  window.civicmap = {
    el: el,
    getJSON: getJSON,
    kinds: kinds,
    addLayer: function (map, spec) {
      var make = kinds[spec.kind];
      if (!make) { console.error("unknown layer kind " + spec.kind); return null; }
      return make(map, spec);
    }
  };
})();
