// memdash dashboard: toasts, row selection for bulk delete, closing confirmations, filters that
// apply on change, and keyboard shortcuts.
// Everything works without this file; it only makes the pages nicer to use.
(function () {
  "use strict";

  function showToast(message, level, url) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast " + (level || "success");
    toast.textContent = message; // never innerHTML: messages may quote memory text
    if (url && url.charAt(0) === "/") { // a link to what the toast is about (its Event)
      var link = document.createElement("a");
      link.href = url;
      link.className = "toast-link";
      link.textContent = "View event";
      toast.appendChild(document.createTextNode(" "));
      toast.appendChild(link);
    }
    box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 7000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (toast) {
      setTimeout(function () { toast.remove(); }, 7000);
    });
    updateSelection();
  });

  // HX-Trigger: {"toast": {"message": "...", "level": "success"}}
  document.body.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    showToast(detail.message || (detail.value && detail.value.message), detail.level, detail.url);
  });

  // htmx 2 does not swap 4xx/5xx responses; say what happened instead of doing nothing.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "You don't have permission to do that."
      : status === 404 ? "Not found: it may have been deleted, or belong to another project."
      : "Something went wrong (" + status + "). Please try again.";
    showToast(text, "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    showToast("The server could not be reached.", "error");
  });

  // Bulk selection: a page checkbox, a live count, buttons enabled only when useful.
  function updateSelection() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var boxes = form.querySelectorAll('input[name="ids"]');
    var checked = form.querySelectorAll('input[name="ids"]:checked').length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = checked + " selected";
    var button = document.getElementById("delete-selected");
    if (button) button.disabled = checked === 0;
    form.querySelectorAll("[data-needs-selection]").forEach(function (other) {
      other.disabled = checked === 0;
    });
    var all = document.getElementById("select-page");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      document.querySelectorAll('#bulk-form input[name="ids"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.id === "select-page" || target.name === "ids") updateSelection();
  });
  document.body.addEventListener("htmx:afterSettle", updateSelection);

  // Buttons that close part of the page, instead of inline handlers (the CSP allows none):
  // data-close="id" empties that element; with data-close-if="id", only when that element is on
  // the page (the confirmation came from a page it can close back to), otherwise the link is
  // followed. data-print prints the page.
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close]");
    if (closer) {
      var stays = closer.getAttribute("data-close-if");
      if (!stays || document.getElementById(stays)) {
        event.preventDefault();
        var box = document.getElementById(closer.getAttribute("data-close"));
        if (box) box.replaceChildren();
      }
    }
    if (event.target.closest("[data-print]")) window.print();
    // data-toggle-open="id" shows or hides that element (the list's filters on a phone, where
    // the stylesheet hides them until asked), keeping aria-expanded in step.
    var toggle = event.target.closest("[data-toggle-open]");
    if (toggle) {
      var panel = document.getElementById(toggle.getAttribute("data-toggle-open"));
      if (panel) {
        var open = panel.classList.toggle("is-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
    }
  });

  // Controls marked "auto" apply their filter form when they change (its hx-trigger listens
  // for "auto-change"; an htmx trigger filter would need eval, which the CSP forbids).
  document.addEventListener("change", function (event) {
    var control = event.target;
    if (control.classList && control.classList.contains("auto") && control.form) {
      control.form.dispatchEvent(new CustomEvent("auto-change", { bubbles: true }));
    }
  });

  // Escape closes an open confirmation (its Cancel link knows how).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var cancel = document.querySelector(".confirm [data-cancel]");
    if (cancel) { event.preventDefault(); cancel.click(); }
  });

  // "/" focuses the first search box, as on many sites.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var box = document.querySelector("[data-search-shortcut]");
    if (box) { event.preventDefault(); box.focus(); }
  });
})();
