// Backup codes page: copy the codes or save them as a text file. Works without this script
// too (the codes are plain text on the page).
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var list = document.getElementById("backup-codes");
  if (!list) { return; }
  var status = document.getElementById("codes-status");
  var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (el) {
    return el.textContent.trim();
  });
  var text = gettext("ticketsystem backup codes (each works once)") + "\n\n" + codes.join("\n") + "\n";

  function say(message) { if (status) { status.textContent = message; } }

  var copy = document.getElementById("copy-codes");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(text).then(
        function () { say(gettext("Copied.")); },
        function () { say(gettext("Could not copy; select the codes instead.")); }
      );
    });
  }

  var download = document.getElementById("download-codes");
  if (download && window.Blob && window.URL) {
    download.hidden = false;
    download.addEventListener("click", function () {
      var url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = "ticketsystem-backup-codes.txt";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }
})();
