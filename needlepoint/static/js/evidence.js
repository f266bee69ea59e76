// The evidence page: sections are folded on screen; paper shows everything. Before printing every <details> on the
// page is opened, and after printing the ones that were closed fold again. No build step.
(function () {
  "use strict";

  var opened = [];

  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("main details:not([open])"), function (node) {
      node.open = true;
      return true;
    });
  });

  window.addEventListener("afterprint", function () {
    opened.forEach(function (node) { node.open = false; });
    opened = [];
  });
})();
