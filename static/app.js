// Kehu CRM: the little JavaScript the pages need on top of htmx. No inline scripts (strict CSP).
(function () {
  "use strict";

  // Toasts: success and information fade after a few seconds; an error stays until it is dismissed
  // (WCAG 2.2.1: reading what went wrong takes the time it takes).
  function settleToast(toast) {
    if (toast.dataset.settled) return;
    toast.dataset.settled = "true";
    if (!toast.classList.contains("error")) {
      setTimeout(function () { toast.remove(); }, 6000);
      return;
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", document.body.dataset.msgDismiss || "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(close);
  }

  // An error said again replaces the one still shown, and no more than three stay (the oldest go):
  // they do not pile up over the page.
  var MAX_ERRORS = 3;

  function showToast(level, message) {
    var region = document.getElementById("toasts");
    if (!region) return;
    if (level === "error") {
      var errors = [].slice.call(region.querySelectorAll(".toast.error"));
      errors.filter(function (old) { return old.firstChild && old.firstChild.nodeValue === message; })
        .forEach(function (old) { old.remove(); });
      errors = [].slice.call(region.querySelectorAll(".toast.error"));
      errors.slice(0, Math.max(0, errors.length - MAX_ERRORS + 1)).forEach(function (old) { old.remove(); });
    }
    var toast = document.createElement("p");
    toast.className = "toast " + (level || "info");
    toast.textContent = message; // never innerHTML: messages may quote user input
    region.appendChild(toast);
    settleToast(toast);
  }

  function settleServerToasts() {
    document.querySelectorAll("#toasts .toast").forEach(settleToast);
  }

  // Toasts never hide the focused control (WCAG 2.4.11): they move to the other edge of the screen.
  document.addEventListener("focusin", function (event) {
    var region = document.getElementById("toasts");
    if (!region || !region.children.length || region.contains(event.target)) return;
    var field = event.target.getBoundingClientRect(), toasts = region.getBoundingClientRect();
    if (field.left < toasts.right && toasts.left < field.right && field.top < toasts.bottom && toasts.top < field.bottom) {
      region.classList.toggle("at-top");
    }
  });

  // A boosted link or form swaps only the body: the page's language comes from the response's
  // <html lang> (WCAG 3.1.1), as after signing in as a member who reads Chinese.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.boosted) return;
    var lang = /<html[^>]*\slang="([^"]+)"/.exec(event.detail.xhr.responseText || "");
    if (lang) document.documentElement.lang = lang[1];
  });


  // The browser's time zone pre-fills sign-up and new-workspace forms; the server validates it.
  function fillTimeZone(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    root.querySelectorAll("input[type=hidden][name=timezone]").forEach(function (input) {
      if (!input.value) input.value = zone || "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    settleServerToasts();
    fillTimeZone(document);
  });

  // A list's filter panel (details[data-fold-narrow]) comes open, so it works without JavaScript;
  // on a phone it folds once, when its page loads, so the results come first. Each panel is seen
  // once: a swap of the results (and of the summary's count) leaves the member's choice alone.
  var NARROW = window.matchMedia("(max-width: 40rem)"); // app.css's phone width
  function foldOnNarrow(root) {
    if (!root.querySelectorAll) return;
    var panels = [].slice.call(root.querySelectorAll("details[data-fold-narrow]"));
    if (root.matches && root.matches("details[data-fold-narrow]")) panels.push(root);
    panels.forEach(function (panel) {
      if (panel.dataset.foldSeen) return;
      panel.dataset.foldSeen = "true";
      if (NARROW.matches) panel.open = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { foldOnNarrow(document); });
  document.addEventListener("htmx:load", function (event) { foldOnNarrow(event.target); });

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

  // Settings lists ordered by dragging a row's handle (stages, lost reasons): Sortable's "end" event
  // makes the list's order form (hx-trigger "end from:<list>") post every row's id once.
  function initSortableRows(root) {
    var lists = root.matches && root.matches("[data-sortable-rows]") ? [root] : [];
    lists = lists.concat([].slice.call(root.querySelectorAll ? root.querySelectorAll("[data-sortable-rows]") : []));
    lists.forEach(function (list) {
      withSortable(list.dataset.sortableSrc, function () {
        if (window.Sortable.get(list)) return;
        new window.Sortable(list, { handle: ".drag-handle", animation: 150 });
        list.dataset.sortable = "ready";
      });
    });
  }

  // Report charts: Chart.js and static/reports.js load only on pages holding [data-charts], once.
  function withScript(src, callback) {
    var script = document.querySelector('script[src="' + src + '"]');
    if (script && script.dataset.loaded) { callback(); return; }
    if (!script) {
      script = document.createElement("script");
      script.src = src;
      script.addEventListener("load", function () { script.dataset.loaded = "true"; });
      document.head.appendChild(script);
    }
    script.addEventListener("load", callback);
  }

  function initCharts(root) {
    var host = root.matches && root.matches("[data-charts]") ? root : root.querySelector && root.querySelector("[data-charts]");
    if (!host) return;
    withScript(host.dataset.chartSrc, function () {
      withScript(host.dataset.reportSrc, function () { window.KehuReports.draw(host); });
    });
  }

  document.addEventListener("htmx:load", function (event) {
    settleServerToasts(); // a boosted page's flashed messages
    fillTimeZone(event.target);
    initBoards(event.target);
    initSortableRows(event.target);
    initCharts(event.target);
  });

  document.addEventListener("toast", function (event) {
    var detail = event.detail && event.detail.value !== undefined ? event.detail.value : event.detail;
    [].concat(detail || []).forEach(function (t) { showToast(t.level, t.message); });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr.getResponseHeader("HX-Trigger")) {
      showToast("error", xhr.status === 429 ? document.body.dataset.msgTooMany : document.body.dataset.msgError);
    }
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("error", document.body.dataset.msgOffline);
  });

  // What separates tags typed in one field, as the server reads them (crm/contacts/tags.py): commas
  // and semicolons, full-width ones too (a Chinese input method types those), the enumeration comma
  // "\u3001", a vertical bar and line breaks.
  var TAG_SEPARATORS = /[,;\uff0c\uff1b\u3001|\r\n]+/;
  var LAST_TAG_SEPARATOR = /[,;\uff0c\uff1b\u3001|\r\n](?=[^,;\uff0c\uff1b\u3001|\r\n]*$)/;

  // A search or filter form leaves its empty fields out of the address it asks for and pushes, so a
  // list's URL says only what narrows it (?tag=fair, not ?q=&owner=&tag=fair&...).
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("form[role=search]");
    if (event.detail.verb !== "get" || !form) return;
    var data = event.detail.formData;
    // A field of several values separated by commas (the contacts' tags) goes as one argument each
    // (?tag=wholesale&tag=export), as the server writes it back for links and saved views.
    form.querySelectorAll("[data-comma-list]").forEach(function (field) {
      var parts = [];
      data.getAll(field.name).forEach(function (value) {
        String(value).split(TAG_SEPARATORS).forEach(function (part) {
          if (part.trim()) parts.push(part.trim());
        });
      });
      data.delete(field.name);
      parts.forEach(function (part) { data.append(field.name, part); });
    });
    Array.from(new Set(data.keys())).forEach(function (key) {
      if (data.getAll(key).every(function (value) { return value === ""; })) data.delete(key);
    });
    // A choice of boxes sends its marker (data-when-none: "cols=none") only when no box is ticked, so
    // the server tells "none ticked" from "no choice made" and the address says no more than it needs.
    form.querySelectorAll("input[data-when-none]").forEach(function (marker) {
      var values = data.getAll(marker.name);
      if (values.length < 2) return;
      data.delete(marker.name);
      values.forEach(function (value) { if (value !== marker.value) data.append(marker.name, value); });
    });
  });

  // The suggestions of a field of several tags (data-comma-list): a browser matches a datalist's
  // options against the whole field, so once a tag and a comma are typed the field offers the
  // workspace's tags (#tag-options, loaded on focus) after what is typed, from a list of its own.
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("input[data-comma-list]")) return;
    var last = field.value.search(LAST_TAG_SEPARATOR);
    var source = document.getElementById("tag-options");
    if (last < 0 || !source) {
      if (source) field.setAttribute("list", "tag-options");
      return;
    }
    var typed = field.value.slice(0, last).split(TAG_SEPARATORS).map(function (part) { return part.trim().toLowerCase(); })
      .filter(function (part) { return part; });
    var before = typed.length ? typed.join(", ") + ", " : "";
    var list = document.getElementById(field.id + "-more-options");
    if (!list) {
      list = document.createElement("datalist");
      list.id = field.id + "-more-options";
      field.after(list);
    }
    var options = [];
    source.querySelectorAll("option").forEach(function (option) {
      if (typed.indexOf(option.value) >= 0) return; // chosen already
      var more = document.createElement("option");
      more.value = before + option.value;
      options.push(more);
    });
    list.replaceChildren.apply(list, options);
    field.setAttribute("list", list.id);
  });

  // A list's "tick every row shown" box (data-select-all names the rows' checkboxes).
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("[data-select-all]");
    if (!all) return;
    var table = all.closest("table");
    table.querySelectorAll("tbody input[type=checkbox][name='" + all.dataset.selectAll + "']").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // The bulk bar says how many rows are ticked (read out: it is a status), since the bar stays above
  // the list while the rows being ticked may be far below it.
  function showTicked() {
    var line = document.querySelector("#bulk-form .bulk-ticked");
    if (!line) return;
    var ticked = tickedCount();
    var lang = document.documentElement.lang || "en";
    var text = new Intl.PluralRules(lang).select(ticked) === "one" ? line.dataset.countOne : line.dataset.countOther;
    line.textContent = ticked ? text.replace("{count}", ticked.toLocaleString(lang)) : "";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=ids], [data-select-all]")) showTicked();
  });
  document.addEventListener("htmx:afterSettle", showTicked);

  // Rows added by "Load more" come unticked, so the box that ticks every row shown is cleared.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var table = target && target.classList.contains("load-more") ? target.closest("table") : null;
    var all = table && table.querySelector("[data-select-all]");
    if (all) all.checked = false;
  });

  // Quotes: a "Print" button (data-print) opens the browser's print dialog; print CSS does the rest.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });

  // Record pickers (templates/_macros/picker.html): a combobox whose listbox htmx fills as the member
  // types. Arrow keys move through the options, Enter or a click chooses, Escape closes; the chosen id
  // goes into the hidden input, which then sends "change" and "picked" (a filter form refreshes on
  // "picked": it does not listen to "change", which a search box also sends when it is left).
  function pickerParts(picker) {
    return {
      input: picker.querySelector("[role=combobox]"),
      hidden: picker.querySelector("[data-picker-value]"),
      box: picker.querySelector("[role=listbox]"),
      options: [].slice.call(picker.querySelectorAll("[role=option]"))
    };
  }

  function closePicker(picker) {
    var parts = pickerParts(picker);
    parts.box.hidden = true;
    parts.input.setAttribute("aria-expanded", "false");
    parts.input.removeAttribute("aria-activedescendant");
  }

  function choose(picker, option) {
    var parts = pickerParts(picker);
    var value = option ? option.dataset.value : "";
    parts.input.value = parts.input.dataset.label = option ? option.dataset.label : "";
    closePicker(picker);
    if (parts.hidden.value !== value) {
      parts.hidden.value = value;
      parts.hidden.dispatchEvent(new Event("change", { bubbles: true }));
      parts.hidden.dispatchEvent(new Event("picked", { bubbles: true }));
    }
  }

  function activate(picker, step) {
    var parts = pickerParts(picker);
    if (!parts.options.length) return;
    if (parts.box.hidden) { parts.box.hidden = false; parts.input.setAttribute("aria-expanded", "true"); }
    var current = parts.options.indexOf(document.getElementById(parts.input.getAttribute("aria-activedescendant")));
    var count = parts.options.length;
    var next = current < 0 ? (step > 0 ? 0 : count - 1) : (current + step + count) % count;
    parts.options.forEach(function (option, index) { option.setAttribute("aria-selected", String(index === next)); });
    parts.input.setAttribute("aria-activedescendant", parts.options[next].id);
    parts.input.dataset.activeValue = parts.options[next].dataset.value;
    parts.options[next].scrollIntoView({ block: "nearest" });
  }

  function onPickerKey(picker, event) {
    var parts = pickerParts(picker);
    var open = !parts.box.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      activate(picker, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && open) {
      event.preventDefault(); // choosing, not submitting the form
      var active = document.getElementById(parts.input.getAttribute("aria-activedescendant"));
      if (active) choose(picker, active);
    } else if (event.key === "Escape") {
      if (open) { event.preventDefault(); closePicker(picker); } else { parts.input.value = parts.input.dataset.label; }
    }
  }

  function initPickers(root) {
    var pickers = root.querySelectorAll ? [].slice.call(root.querySelectorAll("[data-picker]")) : [];
    pickers.forEach(function (picker) {
      if (picker.dataset.pickerReady) return;
      picker.dataset.pickerReady = "true";
      var input = pickerParts(picker).input;
      // Typing stays in the picker: a filter form around it must not filter on half a name.
      picker.addEventListener("input", function (event) {
        event.stopPropagation();
        delete input.dataset.activeValue; // new words: the arrows start again in the list they bring
        if (!input.value.trim()) choose(picker, null);
      });
      picker.addEventListener("change", function (event) { if (event.target === input) event.stopPropagation(); });
      input.addEventListener("keydown", function (event) { onPickerKey(picker, event); });
      picker.addEventListener("mousedown", function (event) {
        if (event.target.closest("[role=option]")) event.preventDefault(); // keep the focus in the text box
      });
      picker.addEventListener("click", function (event) {
        var option = event.target.closest("[role=option]");
        if (option) choose(picker, option);
      });
      picker.addEventListener("focusout", function (event) {
        if (picker.contains(event.relatedTarget)) return;
        closePicker(picker);
        input.value = input.dataset.label; // the text box always names what the form will send
      });
    });
  }

  // A new listbox from the server: read its summary out, and open it while the member is still typing.
  function showPickerResults(box) {
    var picker = box.closest("[data-picker]");
    if (!picker) return;
    var parts = pickerParts(picker);
    picker.querySelector("[role=status]").textContent = box.dataset.summary || "";
    // A list that came late (a slow answer to earlier typing) keeps the option the arrows were on,
    // so Enter still chooses it rather than nothing.
    var kept = parts.options.filter(function (option) { return option.dataset.value === parts.input.dataset.activeValue; })[0];
    parts.options.forEach(function (option) { option.setAttribute("aria-selected", String(option === kept)); });
    if (kept) parts.input.setAttribute("aria-activedescendant", kept.id);
    else { parts.input.removeAttribute("aria-activedescendant"); delete parts.input.dataset.activeValue; }
    var open = parts.options.length > 0 && document.activeElement === parts.input;
    box.hidden = !open;
    parts.input.setAttribute("aria-expanded", String(open));
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.matches && elt.matches("[data-picker] [role=combobox]")) event.detail.parameters.q = elt.value;
  });

  document.addEventListener("htmx:load", function (event) {
    initPickers(event.target);
    if (event.target.matches && event.target.matches("[data-picker] [role=listbox]")) showPickerResults(event.target);
  });

  // Escape closes the header's search results and an open menu (<details class="menu">), and
  // leaves the focus where they were opened from; in an inline edit it cancels (a[data-cancel]),
  // unless a picker inside it took the key.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    var search = event.target.closest(".global-search");
    var results = search && search.querySelector(".quick-panel");
    if (results && results.childElementCount) {
      results.replaceChildren();
      headerSearchShown(search);
      search.querySelector("input").focus();
      return;
    }
    var menu = event.target.closest("details.menu[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
      return;
    }
    if (event.defaultPrevented || event.target.closest("[data-picker]")) return;
    var form = event.target.closest("form");
    var cancel = form && form.querySelector("a[data-cancel]");
    if (cancel) cancel.click();
  });

  // The header's search results: arrow keys move from the box through the results, and the
  // results close once the focus leaves the search (a click elsewhere, Tab past the last one).
  document.addEventListener("keydown", function (event) {
    if ((event.key !== "ArrowDown" && event.key !== "ArrowUp") || !event.target.closest) return;
    var search = event.target.closest(".global-search");
    if (!search) return;
    var links = [].slice.call(search.querySelectorAll(".quick-panel a[href]"));
    if (!links.length) return;
    var at = links.indexOf(event.target);
    var next = event.key === "ArrowDown" ? at + 1 : at - 1;
    event.preventDefault();
    if (next < 0) search.querySelector("input").focus();
    else links[Math.min(next, links.length - 1)].focus();
  });
  document.addEventListener("mousedown", function (event) {
    // Keeps the focus in the search while a result is clicked (Safari does not focus links), or
    // focusout below would close the results under the pointer.
    if (event.target.closest && event.target.closest(".global-search .quick-panel")) event.preventDefault();
  });
  document.addEventListener("focusout", function (event) {
    var search = event.target.closest && event.target.closest(".global-search");
    if (!search || (event.relatedTarget && search.contains(event.relatedTarget))) return;
    var results = search.querySelector(".quick-panel");
    if (results) results.replaceChildren();
    headerSearchShown(search);
  });

  // The header's search box is a combobox: it says whether its results are open (aria-expanded),
  // and a live region of its own says how many came (data-summary), not every result each time.
  function headerSearchShown(search) {
    var input = search.querySelector("input[role=combobox]");
    var results = search.querySelector(".quick-panel");
    var said = search.querySelector("#global-search-said");
    if (!input || !results) return;
    input.setAttribute("aria-expanded", String(!!results.querySelector("a[href]")));
    var summary = results.querySelector("[data-summary]");
    if (said) said.textContent = summary ? summary.dataset.summary : "";
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var search = event.detail.target && event.detail.target.closest && event.detail.target.closest(".global-search");
    if (search) headerSearchShown(search);
  });

  // A form sent back with its errors (422) puts the focus on its first wrong field, even where a
  // field of the form asks for the focus itself (autofocus on the first field).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.xhr || event.detail.xhr.status !== 422) return;
    var wrong = document.querySelector("[aria-invalid=true]");
    var focused = document.activeElement;
    if (wrong && !(focused && focused.matches && focused.matches("[aria-invalid=true]"))) wrong.focus();
  });

  // A button drawn again by its own swap (a task's "Mark done" becoming "Reopen", a field's
  // "Move up") keeps the focus: it is found again by its form's address.
  var focusedAction = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    var form = active && active.closest ? active.closest("form[action]") : null;
    focusedAction = form ? form.getAttribute("action") : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var action = focusedAction;
    focusedAction = null;
    if (!action || (document.activeElement && document.activeElement !== document.body)) return;
    var form = document.querySelector('form[action="' + CSS.escape(action) + '"]');
    var button = form && form.querySelector("button:not([type=button])");
    if (button) button.focus();
  });

  // A page reached by a boosted link or form does not take the focus as a loaded one does: it would
  // stay on <body> (the link or button that had it is gone: Undo import, Merge, Clear...), and
  // nothing says a new page came. Unless the page gave it to a field (autofocus) or the rule above
  // found the button again, the page's main heading takes it, so a screen reader reads it out and
  // Tab goes on from there.
  // The header's search is no exception: Enter there loads the Search page (or a result's page),
  // whose own header search htmx would give the focus back to (by its id), emptied.
  // Only a page asked for from the header's search: someone already typing in it again on the new
  // page (a fast typist, or a slow page) keeps the focus there.
  document.addEventListener("htmx:afterSettle", function (event) {
    var active = document.activeElement;
    var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    var fromHeaderSearch = asker && asker.closest && asker.closest(".global-search");
    var inHeaderSearch = active && active.closest && active.closest(".global-search");
    var leftInSearch = inHeaderSearch && fromHeaderSearch && !active.value;
    if (!event.detail.boosted || (active && active !== document.body && !leftInSearch)) return;
    var main = document.getElementById("main");
    var heading = main && (main.querySelector("h1") || main);
    if (!heading) return;
    if (!heading.matches("a[href], button, input, select, textarea, [tabindex]")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  });

  // A swap that replaces or removes the focused element (an entry edited or deleted, "Show older")
  // must not drop the focus to <body>, where a keyboard or screen-reader user starts over. Once the
  // rules above and htmx's autofocus have had their turn, it goes to what took the element's place:
  // a form's first field, or the new item itself; or, where nothing did, to the item before it or
  // the section's heading. What sent the request may name the place itself (data-focus-after: an
  // edit's Cancel gives the focus back to the entry's Edit link).
  var FIELDS = "input:not([type=hidden]):not([disabled]), select, textarea";
  var CONTROLS = "a[href], button:not([disabled]), " + FIELDS;
  var displaced = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    displaced = null;
    if (event.detail.boosted || !target || target === document.body) return; // a page: it starts at its top
    if (!active || active === document.body || !target.contains(active)) return;
    var sender = event.detail.requestConfig && event.detail.requestConfig.elt;
    displaced = {
      focusAfter: sender && sender.getAttribute ? sender.getAttribute("data-focus-after") : null,
      target: target,
      parent: target.parentElement,
      before: target.previousElementSibling,
      section: target.closest("section, main")
    };
    setTimeout(refocus, 120); // after htmx's settle (20 ms) and its own focus handling
  });

  function refocus() {
    var place = displaced;
    displaced = null;
    if (!place || (document.activeElement && document.activeElement !== document.body)) return;
    var named = place.focusAfter && document.querySelector(place.focusAfter);
    if (named) { named.focus(); return; }
    // Still in the page: its content was swapped (innerHTML); gone: something took its place (outerHTML).
    var fresh = place.target.isConnected ? place.target.firstElementChild
      : place.before ? place.before.nextElementSibling : place.parent && place.parent.firstElementChild;
    while (fresh && (fresh.tagName === "TEMPLATE" || fresh.hidden)) fresh = fresh.nextElementSibling;
    var spot = fresh && fresh.isConnected ? fresh : (place.before && place.before.isConnected ? place.before : null);
    var field = spot && spot.querySelector(FIELDS); // an edit form: its first field
    if (field) spot = field;
    else if (spot && spot.tagName === "SECTION") spot = spot.querySelector("h1, h2, h3") || spot; // a panel drawn again
    if (!spot && place.section && place.section.isConnected) spot = place.section.querySelector("h1, h2, h3") || place.section;
    if (!spot) return;
    if (!spot.matches(CONTROLS)) spot.setAttribute("tabindex", "-1");
    spot.focus();
  }

  // A list's bulk bar asks before it changes records, saying how many: the ticked rows, or all the
  // list selects as counted when "all matching" was chosen (#bulk-count). A request the server
  // will refuse (no action, no ticked row) is not asked about. An export is not asked about either:
  // it is sent as a plain form, whose answer is the file (up to 1,000 ticked ids would not fit in a
  // download link's address). Too many ticked rows go through htmx instead, to be refused with the
  // ticks kept.
  function tickedCount() {
    return document.querySelectorAll("input[name=ids][form=bulk-form]:checked").length;
  }

  var BULK_VALUES = { owner: "bulk_owner", add_tag: "bulk_tag", remove_tag: "bulk_tag", level: "bulk_level" };

  function bulkQuestion(form) {
    var action = form.elements.action.selectedOptions[0];
    if (!action || !action.value) return null; // refused by the server, with its reason
    var value = BULK_VALUES[action.value] && form.elements[BULK_VALUES[action.value]];
    if (value && !value.value.trim()) return null; // no tag, owner or level yet: refused likewise
    if (form.elements.scope.value === "all") {
      var counted = document.querySelector("#bulk-count [data-question]");
      return counted ? counted.dataset.question.replace("{action}", action.text) : form.dataset.hxConfirm;
    }
    var ticked = tickedCount();
    if (!ticked) return null;
    var lang = document.documentElement.lang || "en";
    var question = new Intl.PluralRules(lang).select(ticked) === "one" ? form.dataset.confirmOne : form.dataset.confirmOther;
    return question.replace("{count}", ticked.toLocaleString(lang)).replace("{action}", action.text);
  }

  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (form.id !== "bulk-form") return;
    event.preventDefault();
    clearBulkError();
    var ticked = tickedCount();
    var all = form.elements.scope.value === "all";
    var exporting = /^export/.test(form.elements.action.value);
    if (exporting && (all || (ticked && ticked <= Number(form.dataset.maxTicked)))) {
      form.submit();
      return;
    }
    if (exporting) { // nothing or too many ticked: refused, as any bulk request, with its reason
      event.detail.issueRequest(true);
      return;
    }
    var question = bulkQuestion(form);
    if (!question || window.confirm(question)) event.detail.issueRequest(true);
  });

  // A bulk request the server refused for a wrong field (no action, tag, owner or level): the field
  // is marked, the reason written under it (besides the toast) and the focus goes there (WCAG 3.3.1).
  // The mark goes when the field changes or the bar is sent again.
  function clearBulkError() {
    var error = document.getElementById("bulk-error");
    if (!error) return;
    var field = document.querySelector('[aria-describedby~="bulk-error"]');
    if (field) {
      field.removeAttribute("aria-invalid");
      var rest = field.getAttribute("aria-describedby").split(" ").filter(function (id) { return id && id !== "bulk-error"; });
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
      else field.removeAttribute("aria-describedby");
    }
    error.remove();
  }
  document.addEventListener("bulkRefused", function (event) {
    clearBulkError();
    var field = document.getElementById(event.detail.field);
    if (!field || !field.closest("#bulk-form")) return;
    var error = document.createElement("p");
    error.id = "bulk-error";
    error.className = "error";
    error.textContent = event.detail.message;
    (field.closest(".field") || field.parentElement).appendChild(error);
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " bulk-error").trim());
    field.focus();
  });
  ["change", "input"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target.matches && event.target.matches('#bulk-form [aria-invalid="true"]')) clearBulkError();
    });
  });

  // The trash asks before it restores a whole tab, with their number (an element that a row's own
  // Restore keeps up to date); ticked rows need no question.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    var source = form.dataset && form.dataset.confirmAllFrom && document.querySelector(form.dataset.confirmAllFrom);
    if (!source || form.elements.scope.value !== "all") return;
    event.preventDefault();
    if (window.confirm(source.dataset.question)) event.detail.issueRequest(true);
  });

  // Links that carry the page's filters (Board | List) follow filters changed in place, and so
  // does the page the language switch comes back to.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    document.querySelectorAll("input[data-current-page]").forEach(function (input) {
      input.value = window.location.pathname + window.location.search;
    });
    document.querySelectorAll("a[data-keep-query]").forEach(function (link) {
      var url = new URL(link.href);
      url.search = window.location.search;
      link.href = url.toString();
      window.htmx.process(link); // a boosted link keeps the address it had when processed
    });
  });

  // Copy buttons (data-copy="<selector of a text field>"): shown only where the clipboard API works.
  function initCopyButtons(root) {
    if (!navigator.clipboard || !root.querySelectorAll) return;
    root.querySelectorAll("button[data-copy]").forEach(function (button) { button.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", function () { initCopyButtons(document); });
  document.addEventListener("htmx:load", function (event) { initCopyButtons(event.target); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    navigator.clipboard.writeText(source.value).then(function () { showToast("success", button.dataset.copied); });
  });

  // A colour picker and its text field (data-color-text="<selector of the text field>") kept in step.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("input[type=color][data-color-text]")) {
      var text = document.querySelector(target.dataset.colorText);
      if (text) text.value = target.value;
      return;
    }
    var picker = target.id && document.querySelector('input[type=color][data-color-text="#' + target.id + '"]');
    var value = target.value.trim().toLowerCase();
    if (picker && /^#[0-9a-f]{6}$/.test(value)) picker.value = value;
  });
})();
