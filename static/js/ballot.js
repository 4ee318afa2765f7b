/* The online ballot (/budget/<year>/vote and its review step): reorder the chosen projects of
 * each part (3 city-wide, 3 district; 1st = 3 points) by dragging — mouse, pen or finger,
 * through pointer events, since HTML5 drag and drop does not work on phones — or with the
 * "up" / "down" buttons, and hear the new order in a live region.
 *
 * Progressive enhancement: the form's own fields (the selects citywide_1..3 / local_1..3 on
 * the vote page, the hidden inputs of the same names on the review page) stay the source of
 * truth and are what the server reads; this script only rewrites their values. Without it the
 * selects alone order the ballot.
 *
 * Markup (rendered by the server, translated there):
 *   <div data-ballot-part data-form="FORM-ID" data-fields="citywide_1 citywide_2 citywide_3"
 *        data-title="Part title" data-points="{n} pkt" data-up="Move up: {title}"
 *        data-down="Move down: {title}" data-announce="{part}: {order}" hidden>
 *     ... <ol data-ballot-list></ol> <p data-ballot-empty>...</p> ...
 *   </div>
 *   <div id="ballot-live" role="status"></div>          (one per page)
 * The visible list is rebuilt from the fields; a field's label is the selected option's text
 * (a select) or its data-title (a hidden input).
 */
(function () {
  "use strict";

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? values[k] : m;
    });
  }

  /* A field's label: the selected option's text (a select), or the title its value had when
   * the page was drawn (a hidden input's data-title, looked up by value: values move between
   * the inputs, their titles move with them). */
  function label(field, titles) {
    if (field.tagName === "SELECT") {
      var opt = field.options[field.selectedIndex];
      return opt ? opt.text : field.value;
    }
    return titles[field.value] || field.value;
  }

  function Part(box) {
    var form = document.getElementById(box.getAttribute("data-form"));
    if (!form) return;
    this.box = box;
    this.fields = box
      .getAttribute("data-fields")
      .split(/\s+/)
      .map(function (name) {
        return form.elements[name];
      })
      .filter(Boolean);
    this.titles = {};
    this.fields.forEach(
      function (f) {
        if (f.tagName !== "SELECT" && f.value) this.titles[f.value] = f.getAttribute("data-title");
      }.bind(this)
    );
    this.list = box.querySelector("[data-ballot-list]");
    this.empty = box.querySelector("[data-ballot-empty]");
    this.live = document.getElementById("ballot-live");
    if (!this.list || !this.fields.length) return;
    var self = this;
    this.fields.forEach(function (f) {
      f.addEventListener("change", function () {
        self.render();
      });
    });
    this.list.addEventListener("pointerdown", function (e) {
      self.start(e);
    });
    box.hidden = false;
    box.querySelectorAll("[data-ballot-hint]").forEach(function (el) {
      el.hidden = false;
    });
    this.list.classList.add("ballot-sortable");
    this.render();
  }

  /* The slots (field indexes) that hold a choice, and their values, in ballot order. */
  Part.prototype.chosen = function () {
    var out = [];
    var titles = this.titles;
    this.fields.forEach(function (f, i) {
      if (f.value) out.push({ slot: i, value: f.value, title: label(f, titles) });
    });
    return out;
  };

  Part.prototype.points = function (slot) {
    return this.fields.length - slot; // 3, 2, 1
  };

  Part.prototype.render = function (focus) {
    var self = this;
    var box = this.box;
    var items = this.chosen();
    this.list.textContent = "";
    items.forEach(function (item, k) {
      var li = document.createElement("li");
      li.className = "ballot-item";
      li.setAttribute("data-value", item.value);
      var grip = document.createElement("span");
      grip.className = "ballot-grip";
      grip.setAttribute("aria-hidden", "true");
      grip.setAttribute("data-grip", "");
      var text = document.createElement("span");
      text.className = "ballot-title";
      text.textContent = item.title + " — ";
      var pts = document.createElement("strong");
      pts.className = "ballot-points";
      pts.textContent = fill(box.getAttribute("data-points"), { n: self.points(item.slot) });
      text.appendChild(pts);
      var buttons = document.createElement("span");
      buttons.className = "ballot-moves";
      [
        ["up", "↑", -1],
        ["down", "↓", 1],
      ].forEach(function (spec) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "ballot-move";
        b.setAttribute("data-move", spec[0]);
        var icon = document.createElement("span");
        icon.setAttribute("aria-hidden", "true");
        icon.textContent = spec[1];
        var name = document.createElement("span");
        name.className = "visually-hidden";
        name.textContent = fill(box.getAttribute("data-" + spec[0]), { title: item.title });
        b.appendChild(icon);
        b.appendChild(name);
        var target = k + spec[2];
        if (target < 0 || target >= items.length) b.disabled = true;
        b.addEventListener("click", function () {
          var order = items.map(function (x) {
            return x.value;
          });
          order.splice(target, 0, order.splice(k, 1)[0]);
          self.commit(order, { value: item.value, move: spec[0] });
        });
        buttons.appendChild(b);
      });
      li.appendChild(grip);
      li.appendChild(text);
      li.appendChild(buttons);
      self.list.appendChild(li);
    });
    if (this.empty) this.empty.hidden = items.length > 0;
    if (focus) {
      var li = this.list.querySelector('li[data-value="' + cssEscape(focus.value) + '"]');
      if (li) {
        var b = li.querySelector('[data-move="' + focus.move + '"]');
        if (!b || b.disabled) b = li.querySelector(".ballot-move:not([disabled])");
        if (b) b.focus();
      }
    }
  };

  function cssEscape(v) {
    return window.CSS && CSS.escape ? CSS.escape(v) : String(v).replace(/["\\]/g, "\\$&");
  }

  /* Write an order of values into the chosen slots (the fields), re-render and announce. */
  Part.prototype.commit = function (order, focus) {
    var slots = this.chosen().map(function (x) {
      return x.slot;
    });
    var before = slots.map(
      function (s) {
        return this.fields[s].value;
      }.bind(this)
    );
    var self = this;
    slots.forEach(function (s, k) {
      var f = self.fields[s];
      f.value = order[k];
      if (f.tagName !== "SELECT") f.setAttribute("data-title", self.titles[order[k]] || "");
    });
    this.render(focus);
    if (before.join("\n") !== order.join("\n")) this.announce();
  };

  Part.prototype.announce = function () {
    if (!this.live) return;
    var self = this;
    var order = this.chosen()
      .map(function (x, k) {
        var pts = fill(self.box.getAttribute("data-points"), { n: self.points(x.slot) });
        return k + 1 + ". " + x.title + " (" + pts + ")";
      })
      .join("; ");
    var msg = fill(this.box.getAttribute("data-announce"), {
      part: this.box.getAttribute("data-title"),
      order: order,
    });
    // the same text twice in a row is not re-read by some screen readers: clear first
    var live = this.live;
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = msg;
    }, 50);
  };

  /* Dragging: from the grip with any pointer, from anywhere on the row with a mouse. The row
   * moves among its siblings as the pointer crosses their middles; the order is written on
   * release (pointerup), and undone on pointercancel. The grip has touch-action: none
   * (static/css/ballot.css), so a finger on it drags instead of scrolling the page. */
  Part.prototype.start = function (e) {
    var li = e.target.closest("li.ballot-item");
    if (!li || e.target.closest("button")) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    if (e.pointerType !== "mouse" && !e.target.closest("[data-grip]")) return;
    e.preventDefault();
    var self = this;
    var list = this.list;
    var original = Array.prototype.slice.call(list.children);
    li.classList.add("ballot-dragging");
    list.classList.add("ballot-drag-active");

    function move(ev) {
      if (ev.pointerId !== e.pointerId) return;
      ev.preventDefault();
      var y = ev.clientY;
      var next = null;
      Array.prototype.forEach.call(list.children, function (s) {
        if (s === li || next) return;
        var r = s.getBoundingClientRect();
        if (y < r.top + r.height / 2) next = s;
      });
      if (next !== li.nextElementSibling) {
        list.insertBefore(li, next);
      }
    }

    function end(ev) {
      if (ev.pointerId !== e.pointerId) return;
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", end);
      document.removeEventListener("pointercancel", end);
      li.classList.remove("ballot-dragging");
      list.classList.remove("ballot-drag-active");
      if (ev.type === "pointercancel") {
        original.forEach(function (x) {
          list.appendChild(x);
        });
        return;
      }
      var order = Array.prototype.map.call(list.children, function (x) {
        return x.getAttribute("data-value");
      });
      self.commit(order, null);
    }

    // on the document, not the row: the row itself moves in the DOM while dragged
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", end);
    document.addEventListener("pointercancel", end);
  };

  function init() {
    document.querySelectorAll("[data-ballot-part]").forEach(function (box) {
      new Part(box);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
