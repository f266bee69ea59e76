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
      self.stroke = { mode: same ? "erase" : "paint", value: value, touched: {}, pointerId: event.pointerId };
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

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-bodychart-editor]"), function (root) {
      if (!root.dataset.ready) {
        root.dataset.ready = "1";
        root.bodychart = new Editor(root);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
