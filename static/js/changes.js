/* The ticket page's change log (managers only): fetched when its section is first opened,
 * so the page itself does not pay for it. Without JavaScript the section holds a link to
 * the change log's own page. */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var section = document.querySelector("details[data-changes-url]");
  if (!section) {
    return;
  }
  var body = section.querySelector("[data-changes]");
  var loading = false;

  function load() {
    if (!section.open || loading) {
      return;
    }
    loading = true;
    var url = section.getAttribute("data-changes-url") + "?fragment=1";
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        // Server-rendered and escaped, from our own origin (as the page itself).
        body.innerHTML = html;
        section.setAttribute("data-changes-loaded", "");
      })
      .catch(function () {
        loading = false; // the link stays; opening the section again retries
        var note = document.createElement("p");
        note.className = "error";
        note.textContent = gettext("The change log could not be loaded.");
        body.appendChild(note);
      });
  }

  section.addEventListener("toggle", load);
  load();
})();
