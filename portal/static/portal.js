// Small progressive enhancements; every page works without this file.
(function () {
  // Change language as soon as a language is picked (the form still works without JS).
  var select = document.getElementById("lang-select");
  if (select && select.form) {
    select.addEventListener("change", function () { select.form.submit(); });
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
