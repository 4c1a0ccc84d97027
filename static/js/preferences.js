/* Preferences: until a time zone was saved, preselect the browser's own (if we know it). */
(function () {
  "use strict";
  var form = document.querySelector("[data-preferences][data-guess-zone]");
  var select = form && form.querySelector("select[name=time_zone]");
  if (!select || select.value || !window.Intl) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && select.querySelector('option[value="' + CSS.escape(zone) + '"]')) {
    select.value = zone;
  }
})();
