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

  // Deals board (CONVENTIONS "Kanban"): Sortable on each column, loaded only on pages with a board.
  // Sortable's "end" event bubbles to the board form, whose hx-trigger posts the whole order once.
  function withSortable(src, callback) {
    if (window.Sortable) { callback(); return; }
    var script = document.querySelector("script[data-sortable]");
    if (!script) {
      script = document.createElement("script");
      script.src = src;
      script.dataset.sortable = "";
      document.head.appendChild(script);
    }
    script.addEventListener("load", callback);
  }

  function initBoards(root) {
    var boards = root.matches && root.matches("[data-board]") ? [root] : [];
    boards = boards.concat([].slice.call(root.querySelectorAll ? root.querySelectorAll("[data-board]") : []));
    boards.forEach(function (board) {
      withSortable(board.dataset.sortableSrc, function () {
        board.querySelectorAll(".board-cards").forEach(function (list) {
          if (window.Sortable.get(list)) return;
          new window.Sortable(list, {
            group: "deals",
            animation: 150,
            filter: "button",
            preventOnFilter: false,
            delay: 150,
            delayOnTouchOnly: true, // a finger can still scroll the board sideways
            // A card dropped into another column now belongs to that column's field.
            onAdd: function (event) {
              event.item.querySelectorAll("input[type=hidden]").forEach(function (input) {
                input.name = list.dataset.field;
              });
            }
          });
          list.dataset.sortable = "ready"; // for tests and styles: this column takes drags now
        });
      });
    });
  }

  document.addEventListener("htmx:load", function (event) {
    fillTimeZone(event.target);
    initBoards(event.target);
  });

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
