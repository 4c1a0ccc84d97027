/* Keyboard shortcuts, shared by the pages that include this file (see docs/keyboard.md):
 *   /  search (focuses input[name=q], else opens the ticket list)
 *   j k  next / previous row of a list ([data-key-item] elements; each holds a link)
 *   Enter  opens the focused row's link (the browser does this for a focused link)
 *   r n  reply / internal note ([data-composer] form on a ticket page)
 *   Ctrl/Cmd+Enter  sends the form of the focused text field
 *   ?  shows the list of shortcuts ([data-keys-help] dialog)
 * Single keys never fire while typing in a field or with a modifier held. */
(function () {
  "use strict";

  var help = document.querySelector("[data-keys-help]");

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-key-item]"));
  }

  function move(step) {
    var list = rows();
    if (!list.length) {
      return false;
    }
    var current = list.indexOf(document.activeElement.closest ? document.activeElement.closest("[data-key-item]") : null);
    var next = list[Math.max(0, Math.min(list.length - 1, current + step))];
    if (current === -1) {
      next = list[0];
    }
    list.forEach(function (row) { row.classList.remove("key-current"); });
    next.classList.add("key-current");
    var link = next.matches("a") ? next : next.querySelector("a");
    (link || next).focus();
    next.scrollIntoView({ block: "nearest" });
    return true;
  }

  function compose(internal) {
    var form = document.querySelector("[data-composer]");
    if (!form) {
      return false;
    }
    var box = form.querySelector("input[name=is_internal]");
    if (box) {
      box.checked = internal;
    }
    var body = form.querySelector("textarea[name=body]");
    body.scrollIntoView({ block: "center" });
    body.focus();
    return true;
  }

  function search() {
    var field = document.querySelector("input[name=q]");
    if (field) {
      var folded = field.closest("details");
      if (folded) {
        folded.open = true;  // the list's filters fold away on phones
      }
      field.focus();
      field.select();
      return true;
    }
    if (help && help.getAttribute("data-keys-search-url")) {
      window.location.assign(help.getAttribute("data-keys-search-url"));
      return true;
    }
    return false;
  }

  function showHelp() {
    if (!help) {
      return false;
    }
    if (help.open) {
      help.close();
    } else {
      help.showModal();
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target && event.target.form;
      if (form && typing(event.target)) {
        event.preventDefault();
        var send = form.querySelector("[data-send]") || form.querySelector("button[type=submit]");
        if (form.requestSubmit) {
          form.requestSubmit(send || undefined);
        } else {
          form.submit();
        }
      }
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var handled = false;
    switch (event.key) {
      case "/": handled = search(); break;
      case "j": handled = move(1); break;
      case "k": handled = move(-1); break;
      case "r": handled = compose(false); break;
      case "n": handled = compose(true); break;
      case "?": handled = showHelp(); break;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
