// The episode form offers only the ICD-10-CM codes of the chosen condition (the server checks the code and the
// side whatever the page shows; this only keeps a clinician from scrolling past other conditions' codes).
(function () {
  "use strict";
  function narrow() {
    var condition = document.getElementById("id_condition");
    var code = document.getElementById("id_icd10_code");
    if (!condition || !code) return;
    var chosen = condition.options[condition.selectedIndex];
    var label = chosen ? chosen.text : "";
    Array.prototype.forEach.call(code.querySelectorAll("optgroup"), function (group) {
      var other = group.label !== label;
      group.hidden = other;
      group.disabled = other;
    });
    var selected = code.options[code.selectedIndex];
    if (selected && selected.parentElement.tagName === "OPTGROUP" && selected.parentElement.disabled) {
      code.value = "";
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var condition = document.getElementById("id_condition");
    if (!condition) return;
    condition.addEventListener("change", narrow);
    narrow();
  });
})();
