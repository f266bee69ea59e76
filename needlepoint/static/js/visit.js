// The visit page: keeps the visit version current across htmx fragments, fills the trigger points of the
// chosen muscle, proposes a needle length that suits it, keeps the needling form ready for the next muscle,
// and shows whether the typed free text is saved. No build step.
(function () {
  "use strict";

  function currentVersion() {
    var field = document.getElementById("visit-version");
    return field ? field.value : null;
  }

  // Every fragment answer carries the new version out of band; each request sends the latest one, so a
  // clinician's own saves never conflict with each other, while another clinician's save still does.
  document.addEventListener("htmx:configRequest", function (event) {
    var version = currentVersion();
    if (version === null) return;
    if (event.detail.formData && event.detail.formData.has("version")) {
      event.detail.formData.set("version", version);
    } else if (event.detail.parameters && "version" in event.detail.parameters) {
      event.detail.parameters.version = version;
    }
  });

  function muscleData() {
    var node = document.getElementById("muscle-data");
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }

  function fillTriggerPoints(form) {
    var muscle = form.querySelector("[data-muscle]");
    var select = form.querySelector("[data-trigger-point]");
    if (!muscle || !select) return;
    var chosen = select.value;
    var entry = muscleData()[muscle.value];
    var points = entry ? entry.points : [];
    select.innerHTML = "";
    var blank = document.createElement("option");
    blank.value = "";
    blank.textContent = points.length > 1 ? "Choose…" : "–";
    select.appendChild(blank);
    points.forEach(function (point) {
      var option = document.createElement("option");
      option.value = point[0];
      option.textContent = point[1];
      if (point[0] === chosen || points.length === 1) option.selected = true;
      select.appendChild(option);
    });
    select.required = points.length > 1;
  }

  // Choosing a muscle proposes a needle length from stock: for a muscle with a sourced safe depth the
  // longest length not above it; for any other, the last length is kept unless it would itself raise a
  // warning for this muscle. The server computes both (entry_defaults.py) and the clinician can change it.
  function proposeLength(form) {
    var muscle = form.querySelector("[data-muscle]");
    var length = form.querySelector("[name=length_mm]");
    var entry = muscleData()[muscle ? muscle.value : ""];
    if (!entry || !length || !entry.length) return;
    var longest = parseFloat(entry.length);
    if (entry.from_depth || parseFloat(length.value) > longest) length.value = entry.length;
  }

  function prepare(root) {
    (root || document).querySelectorAll("form.entry-form").forEach(function (form) {
      fillTriggerPoints(form);
      var muscle = form.querySelector("[data-muscle]");
      if (muscle && !muscle.dataset.bound) {
        muscle.dataset.bound = "1";
        muscle.addEventListener("change", function () { fillTriggerPoints(form); proposeLength(form); });
      }
    });
  }

  // --- the free text's draft: "not saved" from the first keystroke until the server has the same text ---

  function freeText() {
    var values = {};
    document.querySelectorAll("[data-free-text]").forEach(function (field) { values[field.name] = field.value; });
    return JSON.stringify(values);
  }

  var savedText = null;  // the text the server last confirmed
  var sentText = null;   // the text of the draft request in flight

  function draftStatus(state, message) {
    var status = document.getElementById("draft-status");
    if (!status) return;
    status.dataset.state = state;
    status.textContent = message;
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-free-text]")) {
      draftStatus("dirty", "Not saved yet");
    }
  });

  var signing = false;  // a sign request carries the text; the page it leads to must not ask to stay

  document.addEventListener("htmx:beforeRequest", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (/\/(draft|details|sign)\/$/.test(path)) sentText = freeText();
    if (/\/sign\/$/.test(path)) signing = true;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (/\/sign\/$/.test(path) && !(event.detail.xhr && event.detail.xhr.status === 204)) signing = false;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (!/\/(draft|details)\/$/.test(path)) return;
    var status = document.getElementById("draft-status");
    var saved = /\/details\/$/.test(path) ? !document.querySelector("#details .errorlist") : status && status.dataset.state === "saved";
    if (saved) savedText = sentText;
    // Typed while the request was on its way: that part is not saved yet (the next pause sends it).
    if (saved && freeText() !== savedText) draftStatus("dirty", "Not saved yet");
  });

  document.addEventListener("htmx:sendError", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (/\/draft\/$/.test(path)) draftStatus("error", "Not saved: the server cannot be reached. Your text is still here.");
  });

  document.addEventListener("htmx:responseError", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (/\/draft\/$/.test(path)) draftStatus("error", "Not saved yet: sign in again to save it.");
  });

  // Leaving the page with unsaved text asks first.
  window.addEventListener("beforeunload", function (event) {
    var status = document.getElementById("draft-status");
    if (!signing && status && status.dataset.state !== "saved" && status.textContent) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // After a fragment comes back, put the cursor where the clinician goes next: a reason for a pending
  // warning, the first field with an error, or the muscle of the next entry. (htmx would otherwise
  // restore focus to the field that submitted.)
  function focusNext() {
    var form = document.querySelector("form.entry-form");
    if (!form) return;
    var target = document.querySelector("[data-ack]") ||
      form.querySelector(".errorlist + input, .errorlist + select") ||
      (form.querySelector(".errorlist") ? null : form.querySelector("[data-muscle]"));
    if (target) target.focus();
  }

  // A suggested trigger point from the assessment fills muscle, side and trigger point of the entry form;
  // the clinician then sets the needles and sizes and adds it as usual (the server checks everything).
  document.addEventListener("click", function (event) {
    var chip = event.target.closest ? event.target.closest("[data-suggest-muscle]") : null;
    var form = document.querySelector("form.entry-form");
    if (!chip || !form) return;
    var muscle = form.querySelector("[data-muscle]");
    var side = form.querySelector("[name=side]");
    muscle.value = chip.dataset.suggestMuscle;
    fillTriggerPoints(form);
    if (side) side.value = chip.dataset.suggestSide;
    var point = form.querySelector("[data-trigger-point]");
    if (point && chip.dataset.suggestTp) point.value = chip.dataset.suggestTp;
    var needles = form.querySelector("[name=needles]");
    if (needles) needles.focus();
  });

  document.addEventListener("DOMContentLoaded", function () { prepare(document); });
  document.addEventListener("htmx:afterSwap", function (event) { prepare(event.detail.target.parentNode || document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var path = event.detail.requestConfig ? event.detail.requestConfig.path : "";
    if (/\/needling\/(copy\/)?$/.test(path)) setTimeout(focusNext, 0);
  });
})();
