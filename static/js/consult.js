/* Consultation pages: "show on the map" for comments placed on the map.
 * Needs propose.js (which draws the comments layer). */
(function () {
  "use strict";

  function init() {
    document.querySelectorAll("button[data-show-comment]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var id = Number(button.getAttribute("data-show-comment"));
        var st = window.participation && window.participation.state;
        var entry = st && st.commentsLayer && st.commentsLayer.byFeature[id];
        if (!entry || !st.map) return;
        var target = entry.getBounds ? entry.getBounds().getCenter() : entry.getLatLng();
        st.map.setView(target, Math.max(st.map.getZoom(), 16));
        entry.openPopup(target);
        var region = document.querySelector(".map-wrap");
        if (region) region.scrollIntoView({ block: "nearest" });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
