// Keeps the card's QR code fresh: fetches a new short-lived token (as an SVG) before the
// current one expires, with the session cookie and the CSRF header. The box has a fixed size,
// so swapping the code never moves anything on the page.
(function () {
  "use strict";
  var box = document.getElementById("eid-qr");
  if (!box) { return; }
  var errorBox = document.getElementById("eid-qr-error");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var url = box.getAttribute("data-url");
  var timer = null;
  var expiresAt = Date.now() + 1000 * (parseInt(box.getAttribute("data-expires-in"), 10) || 60);

  function schedule(seconds) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, Math.max(seconds, 1) * 1000);
  }

  function refresh() {
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (response) {
      if (response.status === 401 || response.status === 403 || response.status === 404 ||
          response.status === 409) {
        window.location.reload();  // signed out, card revoked or suspended: show the page's state
        return null;
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      if (!data) { return; }
      box.innerHTML = data.svg;
      box.classList.remove("eid-qr-stale");
      if (errorBox) { errorBox.hidden = true; }
      expiresAt = Date.now() + data.expires_in * 1000;
      // Renew a quarter of the lifetime before expiry (at least 10 s before).
      schedule(Math.max(data.expires_in - Math.max(10, data.expires_in / 4), 5));
    }).catch(function () {
      if (errorBox) { errorBox.hidden = false; }
      if (Date.now() >= expiresAt) { box.classList.add("eid-qr-stale"); }
      schedule(5);
    });
  }

  // A phone that slept may come back with an expired code: renew at once.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && expiresAt - Date.now() < 20000) { refresh(); }
  });
  var first = (expiresAt - Date.now()) / 1000;
  schedule(Math.max(first - Math.max(10, first / 4), 5));
}());
