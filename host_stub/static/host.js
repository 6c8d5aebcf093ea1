// The host's list pages: "select every row on this page" ticks the rows' boxes, and a filter
// applies as soon as it is chosen. Without JavaScript the boxes are ticked one by one and the
// Search button applies the filters.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches("[data-select-page]")) {
    document.querySelectorAll("input[name=ids][form=bulk-form]").forEach(function (box) { box.checked = target.checked; });
  } else if (target.matches("[data-list-filter]") && target.form) {
    target.form.requestSubmit();
  }
});
