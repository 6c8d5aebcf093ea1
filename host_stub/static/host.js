// The host's list pages: "select every row on this page" ticks the rows' boxes, and a filter
// applies as soon as it is chosen (without JavaScript the boxes are ticked one by one and the
// Search button applies the filters). A new quote's form follows its customer's contacts.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches("[data-select-page]")) {
    document.querySelectorAll("input[name=ids][form=bulk-form]").forEach(function (box) { box.checked = target.checked; });
  } else if (target.matches("[data-list-filter]") && target.form) {
    target.form.requestSubmit();
  } else if (target.matches("select[data-reload-with]")) {
    // A new quote's customer: reload the form so the contact list matches it.
    window.location = target.dataset.reloadWith + "?" + new URLSearchParams({customer_id: target.value});
  }
});

// A database too busy to take an htmx request (503 with X-Database-Busy, host_stub/db_busy.py): its short message
// shows where the answer would have gone (htmx swaps no error answer by itself).
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.status === 503 && xhr.getResponseHeader("X-Database-Busy")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
