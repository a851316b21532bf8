// xietong pages: the few behaviours htmx does not cover. No inline scripts anywhere (CSP), only this file.
(function () {
  "use strict";

  // A dialog fragment swapped into #dialog-slot opens as a modal and focuses its first field.
  function openDialogs(root) {
    root.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      if (!dialog.open && typeof dialog.showModal === "function") {
        dialog.removeAttribute("open");
        dialog.showModal();
      }
      var first = dialog.querySelector("[autofocus], textarea, input:not([type=hidden]), select, button");
      if (first) { first.focus(); }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) { openDialogs(event.detail.elt.parentNode || document); });
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var closer = target.closest("[data-close]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { dialog.close(); dialog.remove(); }
      event.preventDefault();
      return;
    }
    var phrase = target.closest("[data-phrase]");
    if (phrase) {  // 常用意见: put the saved phrase into the opinion box
      var box = document.getElementById(phrase.getAttribute("data-for"));
      if (box) {
        box.value = box.value ? box.value + phrase.getAttribute("data-phrase") : phrase.getAttribute("data-phrase");
        box.focus();
      }
      event.preventDefault();
    }
  });

  // Drag-and-drop onto a material's drop zone fills its file input and uploads at once (htmx posts the form).
  document.addEventListener("dragover", function (event) {
    var zone = event.target instanceof Element && event.target.closest(".dropzone");
    if (zone) { event.preventDefault(); zone.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target instanceof Element && event.target.closest(".dropzone");
    if (zone) { zone.classList.remove("over"); }
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target instanceof Element && event.target.closest(".dropzone");
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("over");
    var input = zone.querySelector("input[type=file]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();
