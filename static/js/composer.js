/* The ticket page's reply composer: insert a canned response, searched by name; its status
 * and priority go into the hidden fields the plain Send button submits with the reply. */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var form = document.querySelector("[data-composer]");
  var data = document.getElementById("canned-responses");
  var picker = form && form.querySelector("[data-canned-picker]");
  if (!form || !data || !picker) {
    return;
  }
  var responses = JSON.parse(data.textContent);
  var search = picker.querySelector("[data-canned-search]");
  var effect = picker.querySelector("[data-canned-effect]");
  var body = form.querySelector("textarea[name=body]");
  var status = form.querySelector("input[name=status]");
  var priority = form.querySelector("input[name=priority]");
  picker.hidden = false;

  function insert(response) {
    var start = body.selectionStart || 0;
    var end = body.selectionEnd || 0;
    var text = body.value;
    body.value = text.slice(0, start) + response.body + text.slice(end);
    status.value = response.status || "";
    priority.value = response.priority || "";
    var parts = [];
    if (response.status_label) {
      parts.push(gettext("status") + " " + response.status_label);
    }
    if (response.priority_label) {
      parts.push(gettext("priority") + " " + response.priority_label);
    }
    effect.textContent = parts.length ? gettext("Send also sets") + ": " + parts.join(", ") : "";
    search.value = "";
    body.focus();
    body.setSelectionRange(start + response.body.length, start + response.body.length);
  }

  function pick() {
    var wanted = search.value.trim().toLowerCase();
    var found = responses.filter(function (r) { return r.name.toLowerCase() === wanted; })[0];
    if (!found && wanted) {
      var partial = responses.filter(function (r) { return r.name.toLowerCase().indexOf(wanted) !== -1; });
      found = partial.length === 1 ? partial[0] : null;
    }
    if (found) {
      insert(found);
    }
    return Boolean(found);
  }

  search.addEventListener("change", pick);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault(); // never submit the reply from the search field
      pick();
    }
  });
})();
