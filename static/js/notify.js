/* Live notifications for the signed-in user (a mention in an internal note): a count beside
 * "Notifications" in the header and a short notice linking to the ticket. The server sends
 * them only to users who can see the ticket. */
(function () {
  "use strict";

  var Live = window.Live;
  var gettext = window.gettext || function (s) { return s; };
  var count = document.querySelector("[data-notify-count]");
  if (!Live || !count) {
    return;
  }
  var box = null;

  function notice(event) {
    if (!box) {
      box = document.createElement("p");
      box.className = "alert notify-toast";
      box.setAttribute("role", "status");
      box.setAttribute("data-notify-toast", "");
      var main = document.getElementById("main");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = "";
    var link = document.createElement("a");
    link.href = String(event.url);
    link.textContent = event.ref;
    var fmt = window.interpolate || function (s, o) { return s.replace("%(by)s", o.by); };
    box.appendChild(document.createTextNode(fmt(gettext("%(by)s mentioned you on"), { by: event.by }, true) + " "));
    box.appendChild(link);
    Live.flash(box);
  }

  Live.onEvent(function (event) {
    if (event.type !== Live.KINDS.MENTION) {
      return;
    }
    count.textContent = String(Number(event.unread));
    count.hidden = false;
    notice(event);
  });
})();
