/* The header's menu button on narrow screens: without this script the navigation simply
 * stays open (stacked); with it, the button shows and hides it. */
(function () {
  "use strict";

  var button = document.querySelector("[data-menu-toggle]");
  var bar = button && button.closest(".topbar");
  if (!bar) {
    return;
  }
  bar.classList.add("js-menu");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = !bar.classList.contains("open");
    bar.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && bar.classList.contains("open")) {
      bar.classList.remove("open");
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
})();
