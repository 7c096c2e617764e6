// Kehu CRM: the little JavaScript the pages need on top of htmx. No inline scripts (strict CSP).
(function () {
  "use strict";

  function showToast(level, message) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var toast = document.createElement("p");
    toast.className = "toast " + (level || "info");
    toast.textContent = message; // never innerHTML: messages may quote user input
    region.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  }

  function fadeServerToasts() {
    document.querySelectorAll("#toasts .toast").forEach(function (toast) {
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  // The browser's time zone pre-fills sign-up and new-workspace forms; the server validates it.
  function fillTimeZone(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    root.querySelectorAll("input[type=hidden][name=timezone]").forEach(function (input) {
      if (!input.value) input.value = zone || "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fadeServerToasts();
    fillTimeZone(document);
  });

  document.addEventListener("htmx:load", function (event) { fillTimeZone(event.target); });

  document.addEventListener("toast", function (event) {
    var detail = event.detail && event.detail.value !== undefined ? event.detail.value : event.detail;
    [].concat(detail || []).forEach(function (t) { showToast(t.level, t.message); });
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (!event.detail.xhr.getResponseHeader("HX-Trigger")) {
      showToast("error", document.body.dataset.msgError);
    }
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("error", document.body.dataset.msgOffline);
  });
})();
