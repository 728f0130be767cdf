// The issue editor: say when the text has unsaved changes, and ask before leaving them.
(function () {
  "use strict";
  var form = document.getElementById("variant-form");
  if (!form) { return; }
  var note = document.getElementById("unsaved-note");
  function snapshot() {
    var parts = [];
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken") { parts.push(key + "=" + value); }
    });
    return parts.join("\u0000");
  }
  var saved = snapshot();
  var submitting = false;
  function dirty() { return !submitting && snapshot() !== saved; }
  form.addEventListener("input", function () {
    if (note) { note.textContent = dirty() ? note.dataset.text : ""; }
  });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty()) {
      event.preventDefault();
      event.returnValue = "";  // the browser shows its own "leave site?" question
    }
  });
}());
