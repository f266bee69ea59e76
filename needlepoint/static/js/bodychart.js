// The pain-drawing editor on the body chart: click, tap or drag to paint regions with the chosen pain,
// keyboard (Tab to a region, Enter/Space marks or clears, digits set the pain, Delete clears), a list of the
// marked regions with their pain, and a "drawing-changed" event that htmx uses to refresh the ranked muscles.
// The drawing travels in a hidden input as JSON {region code: pain 0-10 or null}. No build step.
(function () {
  "use strict";

  var TEN_WINDOW_MS = 900; // "1" then "0" within this time sets 10
  var CLICK_AFTER_POINTER_MS = 700; // a click this soon after a pointer stroke is the same action

  function intensityText(value) {
    return value === null ? "marked, not rated" : "pain " + value + " of 10";
  }

  function Editor(root) {
    this.root = root;
    this.id = root.id;
    this.input = document.getElementById(root.dataset.input);
    this.regions = Array.prototype.slice.call(root.querySelectorAll(".region[data-code]"));
    this.byCode = {};
    this.order = {};
    var self = this;
    this.regions.forEach(function (node, index) {
      self.byCode[node.dataset.code] = node;
      self.order[node.dataset.code] = index;
    });
    this.labels = {};
    Array.prototype.forEach.call(root.querySelectorAll("text.ilabel[data-for]"), function (node) {
      self.labels[node.dataset.for] = node;
    });
    this.state = this.read();
    this.saved = this.serialise();
    this.list = document.querySelector('[data-marked-list="' + this.id + '"]');
    this.box = this.list ? this.list.closest(".marked-box") : null;
    this.form = this.input ? this.input.form : null;
    this.stroke = null;
    this.lastPointer = 0;
    this.pendingOne = null;
    this.bind();
    this.renderAll();
  }

  Editor.prototype.read = function () {
    try {
      var value = JSON.parse(this.input.value || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (e) {
      return {};
    }
  };

  Editor.prototype.brush = function () {
    var checked = document.querySelector('[data-brush-for="' + this.id + '"] input[name=brush]:checked');
    if (!checked || checked.value === "u") return null;
    return parseInt(checked.value, 10);
  };

  Editor.prototype.serialise = function () {
    var self = this;
    var codes = Object.keys(this.state).sort(function (a, b) { return self.order[a] - self.order[b]; });
    var ordered = {};
    codes.forEach(function (code) { ordered[code] = self.state[code]; });
    return JSON.stringify(ordered);
  };

  Editor.prototype.isMarked = function (code) {
    return Object.prototype.hasOwnProperty.call(this.state, code);
  };

  Editor.prototype.render = function (code) {
    var node = this.byCode[code];
    if (!node) return;
    var marked = this.isMarked(code);
    var value = marked ? this.state[code] : undefined;
    if (marked) node.setAttribute("data-i", value === null ? "u" : String(value));
    else node.removeAttribute("data-i");
    node.setAttribute("aria-checked", marked ? "true" : "false");
    var view = node.closest("svg").dataset.view;
    var spoken = node.dataset.name + ", " + view + ": " + (marked ? intensityText(value) : "not marked");
    node.setAttribute("aria-label", spoken);
    var title = node.querySelector("title");
    if (title) title.textContent = spoken;
    var label = this.labels[code];
    if (label) label.textContent = marked && value !== null ? String(value) : "";
  };

  Editor.prototype.renderAll = function () {
    var self = this;
    this.regions.forEach(function (node) { self.render(node.dataset.code); });
    this.renderList();
  };

  Editor.prototype.renderList = function () {
    if (!this.list) return;
    var self = this;
    var codes = Object.keys(this.state).sort(function (a, b) { return self.order[a] - self.order[b]; });
    this.list.textContent = "";
    codes.forEach(function (code) {
      var node = self.byCode[code];
      if (!node) return;
      var item = document.createElement("li");
      item.dataset.code = code;
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = node.dataset.name + " (" + node.closest("svg").dataset.view + ")";
      var select = document.createElement("select");
      select.setAttribute("aria-label", "Pain in " + node.dataset.name);
      var options = [["u", "not rated"]];
      for (var i = 0; i <= 10; i++) options.push([String(i), String(i)]);
      options.forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1];
        var current = self.state[code] === null ? "u" : String(self.state[code]);
        if (current === pair[0]) option.selected = true;
        select.appendChild(option);
      });
      select.addEventListener("change", function () {
        self.state[code] = select.value === "u" ? null : parseInt(select.value, 10);
        self.render(code);
        self.commit(false);
      });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + node.dataset.name);
      remove.addEventListener("click", function () {
        var next = item.nextElementSibling || item.previousElementSibling;
        delete self.state[code];
        self.render(code);
        self.commit(true);
        var target = next && self.list.querySelector('li[data-code="' + next.dataset.code + '"] button');
        (target || self.byCode[code]).focus();
      });
      item.appendChild(name);
      item.appendChild(select);
      item.appendChild(remove);
      self.list.appendChild(item);
    });
    if (this.box) {
      var count = this.box.querySelector("[data-marked-count]");
      if (count) count.textContent = String(codes.length);
    }
  };

  // Write the drawing to the hidden input and tell the page (htmx refreshes the ranking on this event).
  Editor.prototype.commit = function (relist) {
    var text = this.serialise();
    if (text === this.input.value) return;
    this.input.value = text;
    if (relist !== false) this.renderList();
    var dirty = this.form ? this.form.querySelector("[data-dirty-note]") : null;
    if (dirty) dirty.hidden = text === this.saved;
    this.input.dispatchEvent(new CustomEvent("drawing-changed", { bubbles: true, detail: { drawing: text } }));
  };

  Editor.prototype.toggle = function (code) {
    if (this.isMarked(code)) delete this.state[code];
    else this.state[code] = this.brush();
    this.render(code);
    this.commit(true);
  };

  Editor.prototype.set = function (code, value) {
    this.state[code] = value;
    this.render(code);
    this.commit(true);
  };

  // A stroke starting on a region already painted with the current pain erases; otherwise it paints.
  Editor.prototype.apply = function (node) {
    var code = node.dataset.code;
    if (!this.stroke || this.stroke.touched[code]) return;
    this.stroke.touched[code] = true;
    if (this.stroke.mode === "erase") delete this.state[code];
    else this.state[code] = this.stroke.value;
    this.render(code);
  };

  Editor.prototype.regionAt = function (x, y) {
    var hit = document.elementFromPoint(x, y);
    var node = hit && hit.closest ? hit.closest(".region[data-code]") : null;
    return node && this.root.contains(node) ? node : null;
  };

  // A second finger turns a stroke into a pinch: the regions the first finger painted go back as they were.
  Editor.prototype.cancelStroke = function () {
    if (!this.stroke) return;
    this.state = JSON.parse(this.stroke.before);
    this.stroke = null;
    this.lastPointer = Date.now();
    this.renderAll();
  };

  Editor.prototype.bind = function () {
    var self = this;
    var root = this.root;

    root.addEventListener("pointerdown", function (event) {
      var node = event.target.closest ? event.target.closest(".region[data-code]") : null;
      if (!node || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      var value = self.brush();
      var code = node.dataset.code;
      var same = self.isMarked(code) && self.state[code] === value;
      self.stroke = {
        mode: same ? "erase" : "paint", value: value, touched: {}, pointerId: event.pointerId,
        before: JSON.stringify(self.state),
      };
      self.lastPointer = Date.now();
      node.focus({ preventScroll: true });
      self.apply(node);
      try { root.setPointerCapture(event.pointerId); } catch (e) { /* capture is only a convenience */ }
    });
    root.addEventListener("pointermove", function (event) {
      if (!self.stroke || event.pointerId !== self.stroke.pointerId) return;
      event.preventDefault();
      var node = self.regionAt(event.clientX, event.clientY);
      if (node) self.apply(node);
    });
    function finish(event) {
      if (!self.stroke || event.pointerId !== self.stroke.pointerId) return;
      self.stroke = null;
      self.lastPointer = Date.now();
      self.commit(true);
    }
    root.addEventListener("pointerup", finish);
    root.addEventListener("pointercancel", finish);
    root.addEventListener("lostpointercapture", finish);

    // Assistive technology activates a region with a click event and no pointer stroke.
    root.addEventListener("click", function (event) {
      var node = event.target.closest ? event.target.closest(".region[data-code]") : null;
      if (!node || Date.now() - self.lastPointer < CLICK_AFTER_POINTER_MS) return;
      self.toggle(node.dataset.code);
    });

    root.addEventListener("keydown", function (event) {
      var node = event.target.closest ? event.target.closest(".region[data-code]") : null;
      if (!node || event.altKey || event.ctrlKey || event.metaKey) return;
      var code = node.dataset.code;
      var key = event.key;
      if (key === "Enter" || key === " " || key === "Spacebar") {
        event.preventDefault();
        self.toggle(code);
      } else if (/^[0-9]$/.test(key)) {
        event.preventDefault();
        var value = parseInt(key, 10);
        var now = Date.now();
        if (value === 0 && self.pendingOne && self.pendingOne.code === code && now - self.pendingOne.at < TEN_WINDOW_MS) {
          value = 10;
        }
        self.pendingOne = value === 1 ? { code: code, at: now } : null;
        self.set(code, value);
      } else if (key === "Delete" || key === "Backspace") {
        event.preventDefault();
        if (self.isMarked(code)) {
          delete self.state[code];
          self.render(code);
          self.commit(true);
        }
      } else if (key === "+" || key === "=" || key === "-") {
        event.preventDefault();
        var current = self.isMarked(code) && self.state[code] !== null ? self.state[code] : 5;
        self.set(code, Math.max(0, Math.min(10, current + (key === "-" ? -1 : 1))));
      }
    });

    var clear = document.querySelector('[data-clear-drawing="' + this.id + '"]');
    if (clear) {
      clear.addEventListener("click", function () {
        var codes = Object.keys(self.state);
        self.state = {};
        codes.forEach(function (code) { self.render(code); });
        self.commit(true);
      });
    }
  };


  // Zoom: buttons, "]" and "[" on the chart, and a two-finger pinch. The largest zoom is computed from the chart
  // itself so that the smallest region is at least MIN_TARGET_PX in both directions: 24 CSS px is the minimum
  // target size of WCAG 2.2 success criterion 2.5.8. The chart scrolls inside its own frame, never the page.
  var MIN_TARGET_PX = 25; // one pixel above 24 so rounding never leaves a region just short
  var ZOOM_STEP = 2;

  function Zoom(figure) {
    this.figure = figure;
    this.viewport = figure.querySelector("[data-chart-viewport]");
    this.views = this.viewport.querySelector(".views");
    this.panels = Array.prototype.slice.call(this.views.querySelectorAll(".view"));
    this.controls = figure.querySelector("[data-zoom-controls]");
    this.output = this.controls.querySelector("[data-zoom-level]");
    this.level = 1;
    this.pointers = {};
    this.pinch = null;
    this.controls.hidden = false;
    this.bind();
    this.update();
  }

  // Width of one view at zoom 1, and the zoom at which the smallest region reaches MIN_TARGET_PX.
  Zoom.prototype.measure = function () {
    var level = this.level;
    this.apply(1);
    var svg = this.panels[0].querySelector("svg");
    var unitsWide = svg.viewBox.baseVal.width;
    this.baseWidth = svg.getBoundingClientRect().width;
    var smallest = Infinity;
    Array.prototype.forEach.call(this.figure.querySelectorAll(".region"), function (node) {
      var box = node.getBBox();
      smallest = Math.min(smallest, box.width, box.height);
    });
    var pxPerUnit = this.baseWidth / unitsWide;
    this.max = smallest === Infinity || !pxPerUnit ? 1 : Math.max(1, Math.ceil((MIN_TARGET_PX / (smallest * pxPerUnit)) * 10) / 10);
    this.apply(level);
  };

  Zoom.prototype.steps = function () {
    var steps = [1];
    for (var z = ZOOM_STEP; z < this.max; z *= ZOOM_STEP) steps.push(z);
    if (this.max > 1) steps.push(this.max);
    return steps;
  };

  // Size the views for a zoom level, keeping the point at (anchorX, anchorY) of the frame where it was.
  Zoom.prototype.apply = function (level, anchorX, anchorY) {
    var viewport = this.viewport;
    var ax = anchorX === undefined ? viewport.clientWidth / 2 : anchorX;
    var ay = anchorY === undefined ? viewport.clientHeight / 2 : anchorY;
    var fx = (viewport.scrollLeft + ax) / (viewport.scrollWidth || 1);
    var fy = (viewport.scrollTop + ay) / (viewport.scrollHeight || 1);
    this.level = level;
    var zoomed = level > 1.001;
    this.figure.classList.toggle("zoomed", zoomed);
    var width = zoomed ? this.baseWidth * level + "px" : "";
    this.panels.forEach(function (panel) {
      panel.style.flex = zoomed ? "0 0 " + width : "";
      panel.style.maxWidth = zoomed ? "none" : "";
    });
    viewport.scrollLeft = fx * viewport.scrollWidth - ax;
    viewport.scrollTop = fy * viewport.scrollHeight - ay;
  };

  Zoom.prototype.set = function (level, anchorX, anchorY) {
    if (this.baseWidth === undefined) this.measure();
    this.apply(Math.max(1, Math.min(this.max, level)), anchorX, anchorY);
    this.update();
  };

  Zoom.prototype.step = function (direction) {
    if (this.baseWidth === undefined) this.measure();
    var steps = this.steps();
    var level = this.level;
    var next = direction > 0
      ? steps.filter(function (z) { return z > level + 0.001; })[0]
      : steps.filter(function (z) { return z < level - 0.001; }).pop();
    if (next !== undefined) this.set(next);
  };

  Zoom.prototype.update = function () {
    var max = this.max === undefined ? Infinity : this.max;
    this.output.textContent = Math.round(this.level * 100) + "%";
    this.controls.querySelector('[data-zoom="out"]').disabled = this.level <= 1.001;
    this.controls.querySelector('[data-zoom="in"]').disabled = this.level >= max - 0.001;
    this.controls.querySelector('[data-zoom="fit"]').disabled = this.level <= 1.001;
    this.figure.dataset.zoom = String(this.level);
  };

  Zoom.prototype.bind = function () {
    var self = this;
    this.controls.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (!button) return;
      if (button.dataset.zoom === "in") self.step(1);
      else if (button.dataset.zoom === "out") self.step(-1);
      else self.set(1);
    });
    this.figure.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "]" || event.key === "[") {
        event.preventDefault();
        self.step(event.key === "]" ? 1 : -1);
        var focused = document.activeElement;
        if (focused && self.viewport.contains(focused) && focused.scrollIntoView) focused.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    });
    // Capture phase: the pinch sees both fingers before the painting does, even under pointer capture.
    function distance() {
      var points = Object.keys(self.pointers).map(function (id) { return self.pointers[id]; });
      var dx = points[0].x - points[1].x;
      var dy = points[0].y - points[1].y;
      return { d: Math.sqrt(dx * dx + dy * dy) || 1, x: (points[0].x + points[1].x) / 2, y: (points[0].y + points[1].y) / 2 };
    }
    this.figure.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "touch") return;
      self.pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      if (Object.keys(self.pointers).length === 2) {
        if (self.figure.bodychart) self.figure.bodychart.cancelStroke();
        if (self.baseWidth === undefined) self.measure();
        var start = distance();
        self.pinch = { d: start.d, x: start.x, y: start.y, level: self.level };
      }
      if (self.pinch) { event.stopPropagation(); event.preventDefault(); }
    }, true);
    this.figure.addEventListener("pointermove", function (event) {
      if (!self.pointers[event.pointerId]) return;
      self.pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      if (!self.pinch) return;
      event.stopPropagation();
      event.preventDefault();
      var now = distance();
      var frame = self.viewport.getBoundingClientRect();
      self.set(self.pinch.level * (now.d / self.pinch.d), now.x - frame.left, now.y - frame.top);
      // Two fingers moving together pan the chart.
      self.viewport.scrollLeft -= now.x - self.pinch.x;
      self.viewport.scrollTop -= now.y - self.pinch.y;
      self.pinch.x = now.x;
      self.pinch.y = now.y;
    }, true);
    function lift(event) {
      if (!self.pointers[event.pointerId]) return;
      delete self.pointers[event.pointerId];
      if (self.pinch) {
        event.stopPropagation();
        if (Object.keys(self.pointers).length === 0) self.pinch = null;
      }
    }
    ["pointerup", "pointercancel"].forEach(function (name) { self.figure.addEventListener(name, lift, true); });
    window.addEventListener("resize", function () {
      if (self.baseWidth === undefined) return;
      var level = self.level;
      self.measure();
      self.set(level);
    });
    // Paper shows the whole chart.
    window.addEventListener("beforeprint", function () { self.set(1); });
  };

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-bodychart-editor]"), function (root) {
      if (!root.dataset.ready) {
        root.dataset.ready = "1";
        root.bodychart = new Editor(root);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("figure.bodychart"), function (figure) {
      if (!figure.zoom && figure.querySelector("[data-zoom-controls]")) figure.zoom = new Zoom(figure);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
