// The header's patient search: "/" puts the cursor in it from anywhere on the page, except while typing in a
// field (where "/" is a character: a date, a dose, a note). Escape closes the live results.
(function () {
  "use strict";

  function typingInField(target) {
    if (!target || !(target instanceof Element)) return false;
    return target.isContentEditable || target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    const box = document.getElementById("header-q");
    if (!box) return;
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInField(event.target)) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && event.target === box) {
      const results = document.getElementById("header-results");
      if (results) results.textContent = "";
      box.blur();
    }
  });
})();
