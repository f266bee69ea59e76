// A "Print" button is any element with data-print: a listener here, because the Content-Security-Policy
// refuses onclick="..." attributes.
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
