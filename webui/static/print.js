// The voucher's print button (no inline handler: the CSP allows scripts from this site only).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
