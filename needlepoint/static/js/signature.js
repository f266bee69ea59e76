// Consent page: an optional drawn signature beside the typed name. Strokes are kept as an SVG path
// ("M x y L x y …" in a 600×150 box) in a hidden field; the server checks its form and size.
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var field = document.querySelector("input[name=drawn_signature]");
  if (!canvas || !field) return;
  var context = canvas.getContext("2d");
  var path = [];
  var drawing = false;

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return [Math.round((event.clientX - box.left) * 600 / box.width),
            Math.round((event.clientY - box.top) * 150 / box.height)];
  }
  function redraw() {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.lineWidth = 2.5; context.lineCap = "round"; context.strokeStyle = "#1d2733";
    context.beginPath();
    path.forEach(function (step) {
      if (step[0] === "M") context.moveTo(step[1], step[2]); else context.lineTo(step[1], step[2]);
    });
    context.stroke();
    field.value = path.map(function (step) { return step.join(" "); }).join(" ");
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true; canvas.setPointerCapture(event.pointerId);
    var p = point(event); path.push(["M", p[0], p[1]]); redraw();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    var p = point(event); path.push(["L", p[0], p[1]]); redraw();
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
    canvas.addEventListener(name, function () { drawing = false; });
  });
  var clear = document.getElementById("signature-clear");
  if (clear) clear.addEventListener("click", function () { path = []; redraw(); });
})();
