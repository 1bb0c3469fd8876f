// Small progressive enhancements; every page works without this file.
(function () {
  // The language changes only when its button is pressed (WCAG 3.2.2: picking an option, with
  // the arrow keys too, changes nothing by itself). After the new page loads, focus returns to
  // that button, where the person left it.
  var button = document.getElementById("lang-submit");
  if (button && button.form) {
    button.form.addEventListener("submit", function () {
      try { sessionStorage.setItem("portal-lang-focus", "1"); } catch (e) { /* private mode */ }
    });
    try {
      if (sessionStorage.getItem("portal-lang-focus")) {
        sessionStorage.removeItem("portal-lang-focus");
        button.focus();
      }
    } catch (e) { /* storage unavailable: focus starts at the top, as without JS */ }
  }
  // fetch() helper that sends the CSRF token with same-origin state-changing requests.
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.portalFetch = function (url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({"Accept": "application/json"}, options.headers || {});
    if (meta && options.method && options.method.toUpperCase() !== "GET") {
      options.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
    return fetch(url, options);
  };
})();
