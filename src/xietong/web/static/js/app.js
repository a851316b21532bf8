// xietong pages: the few behaviours htmx does not cover. No inline scripts anywhere (CSP), only this file.
(function () {
  "use strict";

  // A dialog fragment swapped into #dialog-slot opens as a modal and focuses its first field.
  function openDialogs(root) {
    root.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      // It arrives open (so it works without this script); reopen it as a modal, above everything.
      if (!dialog.dataset.shown && typeof dialog.showModal === "function") {
        dialog.dataset.shown = "1";
        if (dialog.open) { dialog.dataset.reopening = "1"; dialog.close(); }
        dialog.showModal();
      }
      var first = dialog.querySelector("[autofocus]") ||
        dialog.querySelector("textarea, input:not([type=hidden]), select") || dialog.querySelector("button");
      if (first) { first.focus(); }
    });
  }

  // The button that asked for a dialog gets the focus back when it closes (Esc, 取消 or after an error).
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt instanceof HTMLButtonElement && event.detail.elt.hasAttribute("data-action")) {
      opener = event.detail.elt;
    }
  });
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement)) { return; }
    if (dialog.dataset.reopening) { delete dialog.dataset.reopening; return; }  // our own close-then-showModal
    if (dialog.dataset.shown && !dialog.dataset.replacing) {
      dialog.remove();
      if (opener && document.body.contains(opener)) { opener.focus(); }
    }
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    // a dialog re-rendered with its errors replaces the open one: that is not the person closing it
    var old = event.detail.target && event.detail.target.querySelector("dialog");
    if (old) { old.dataset.replacing = "1"; }
  });
  document.addEventListener("htmx:afterSettle", function (event) { openDialogs(event.detail.elt.parentNode || document); });
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var closer = target.closest("[data-close]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { dialog.close(); }
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

  // An uploaded file's row (or an upload error) can be removed; the file input is emptied after each upload.
  document.addEventListener("click", function (event) {
    var remover = event.target instanceof Element && event.target.closest("[data-remove]");
    if (remover) { var row = remover.closest("li"); if (row) { row.remove(); } event.preventDefault(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt instanceof HTMLInputElement && elt.hasAttribute("data-clear-after")) { elt.value = ""; }
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

  // A form field with a display condition (data-visible-field / data-visible-values) shows only while the field it
  // depends on has one of the values; hidden, its inputs are disabled so they are not sent.
  function chosen(form, name) {
    var values = [];
    Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (el) {
      if (el.name !== name || el.disabled) { return; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      if (el.value.trim()) { values.push(el.value.trim()); }
    });
    return values;
  }
  function applyConditions(root) {
    (root || document).querySelectorAll("form").forEach(function (form) {
      form.querySelectorAll("[data-visible-field]").forEach(function (wrap) {
        var wanted = [];
        try { wanted = JSON.parse(wrap.getAttribute("data-visible-values") || "[]"); } catch (e) { wanted = []; }
        var show = chosen(form, wrap.getAttribute("data-visible-field")).some(function (v) { return wanted.indexOf(v) >= 0; });
        wrap.hidden = !show;
        wrap.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
      });
    });
  }
  document.addEventListener("input", function () { applyConditions(document); });
  document.addEventListener("change", function () { applyConditions(document); });
  document.addEventListener("DOMContentLoaded", function () { applyConditions(document); });
  document.addEventListener("htmx:afterSettle", function () { applyConditions(document); });
  // Enter in the colleague picker's search box searches (htmx's "search" trigger) instead of submitting the dialog.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key === "Enter" && box instanceof HTMLInputElement && box.type === "search" && box.hasAttribute("hx-get")) {
      event.preventDefault();
      box.dispatchEvent(new Event("search", { bubbles: true }));
    }
  });
})();
