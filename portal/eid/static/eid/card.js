// The card on the phone (issue 15). The page makes an ECDSA P-256 key pair whose private half
// cannot be exported (WebCrypto) and keeps it in IndexedDB; the city issues a credential for
// its public half (POST /api/v1/eid/cards/me/credential, valid up to a day), kept there too.
// Then every 30 seconds, without any network, the page signs a new proof (its time and a random
// id) over the credential and shows credential + proof as a QR code (the presentation format of
// issue 15: "EID1:" + base45 of CBOR/COSE, alphanumeric mode, error correction M).
// A browser without WebCrypto or IndexedDB gets the old server-made code from /eid/qr instead.
// The box has a fixed size, so a new code never moves anything on the page.
(function () {
  "use strict";
  var box = document.getElementById("eid-qr");
  if (!box) { return; }
  var C = window.EidCodec;
  var errorBox = document.getElementById("eid-qr-error");
  var offlineNote = document.getElementById("eid-qr-offline");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var legacyUrl = box.getAttribute("data-url");
  var credentialUrl = box.getAttribute("data-credential-url");
  var cardId = box.getAttribute("data-card");
  var refreshMs = 1000 * (parseInt(box.getAttribute("data-refresh"), 10) || 30);
  var RENEW_BEFORE_MS = 3600 * 1000;  // ask for a new credential in its last hour
  var PROTECTED_ES256 = new Uint8Array([0xa1, 0x01, 0x26]);  // {1: -7}
  var timer = null;

  function schedule(ms, fn) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(fn, Math.max(ms, 1000));
  }

  var defaultError = errorBox ? errorBox.textContent : "";

  // The error line: the server's own words when it refused (e.g. too many phones), else the
  // page's "could not be made" line.
  function showError(on, message) {
    if (!errorBox) { return; }
    errorBox.textContent = message || defaultError;
    errorBox.hidden = !on;
  }

  // A signed-out session or a card that changed status: reload to show the page's state, but
  // not more than once a minute (a page that keeps answering so must not loop).
  function reloadOnce() {
    try {
      var last = parseInt(window.sessionStorage.getItem("eid-reloaded") || "0", 10);
      if (Date.now() - last < 60000) { return false; }
      window.sessionStorage.setItem("eid-reloaded", String(Date.now()));
    } catch (e) { return false; }
    window.location.reload();
    return true;
  }

  // --- the QR code (qrcode-generator draws the modules, the SVG is built here) -------------

  function drawQr(text) {
    var qr = window.qrcode(0, "M");
    qr.addData(text, "Alphanumeric");
    qr.make();
    var n = qr.getModuleCount(), quiet = 4, size = n + 2 * quiet, d = [];
    for (var row = 0; row < n; row++) {
      for (var col = 0; col < n; col++) {
        if (qr.isDark(row, col)) { d.push("M" + (col + quiet) + " " + (row + quiet) + "h1v1h-1z"); }
      }
    }
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + size + " " + size);
    svg.setAttribute("class", "eid-qr-svg");
    svg.setAttribute("role", "img");
    var title = document.createElementNS(ns, "title");
    title.textContent = box.getAttribute("data-title") || "";
    var background = document.createElementNS(ns, "rect");
    background.setAttribute("width", String(size));
    background.setAttribute("height", String(size));
    background.setAttribute("fill", "#fff");
    var modules = document.createElementNS(ns, "path");
    modules.setAttribute("d", d.join(""));
    modules.setAttribute("fill", "#000");
    svg.appendChild(title);
    svg.appendChild(background);
    svg.appendChild(modules);
    while (box.firstChild) { box.removeChild(box.firstChild); }
    box.appendChild(svg);
    box.classList.remove("eid-qr-stale");
  }

  // --- IndexedDB: the key pair and the credential ------------------------------------------

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function openStore() {
    var req = window.indexedDB.open("eid-card", 1);
    req.onupgradeneeded = function () { req.result.createObjectStore("device"); };
    return request(req);
  }

  function get(db, key) {
    return request(db.transaction("device", "readonly").objectStore("device").get(key));
  }

  function put(db, key, value) {
    return request(db.transaction("device", "readwrite").objectStore("device").put(value, key));
  }

  // The phone's key pair: made once, the private key never extractable (a structured clone
  // in IndexedDB keeps it so). A new key pair makes any stored credential useless: drop it.
  function deviceKeys(db) {
    return get(db, "keys").then(function (keys) {
      if (keys && keys.privateKey && keys.publicKey) { return keys; }
      return window.crypto.subtle.generateKey({name: "ECDSA", namedCurve: "P-256"}, false, ["sign"])
        .then(function (made) {
          return put(db, "credential", null).then(function () { return put(db, "keys", made); })
            .then(function () { return made; });
        });
    });
  }

  // --- the credential ----------------------------------------------------------------------

  function serverNow(record) { return Date.now() + (record ? record.offset : 0); }

  function usable(record) {
    return !!(record && record.card === cardId && record.credential &&
              serverNow(record) < record.expiresAt);
  }

  function dueForRenewal(record) {
    return !usable(record) || record.expiresAt - serverNow(record) < RENEW_BEFORE_MS;
  }

  function fetchCredential(db, keys) {
    return window.crypto.subtle.exportKey("jwk", keys.publicKey).then(function (jwk) {
      return fetch(credentialUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify({device_key: {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y}})
      });
    }).then(function (response) {
      if (response.ok) { return response.json(); }
      return response.json().catch(function () { return {}; }).then(function (body) {
        var error = new Error("HTTP " + response.status);
        error.code = (body && body.error && body.error.code) || "";
        error.serverMessage = (body && body.error && body.error.message) || "";
        if (response.status === 401 || error.code === "card_suspended" || error.code === "no_active_card") {
          reloadOnce();  // signed out, or the card was suspended or revoked: show the page's state
        }
        if (error.code === "invalid_device_key") {
          return put(db, "keys", null).then(function () { throw error; });  // a new key next time
        }
        throw error;
      });
    }).then(function (data) {
      var record = {
        card: cardId,
        credential: C.fromBase64url(data.credential),
        expiresAt: Date.parse(data.expires_at),  // the server's clock
        offset: data.server_time * 1000 - Date.now()  // server clock - this phone's clock
      };
      if (!record.credential.length || isNaN(record.expiresAt) || isNaN(record.offset)) {
        throw new Error("a credential answer without its fields");
      }
      return put(db, "credential", record).then(function () { return record; });
    });
  }

  // --- the presentation --------------------------------------------------------------------

  function presentation(keys, record) {
    var iat = Math.floor(serverNow(record) / 1000);
    var cti = window.crypto.getRandomValues(new Uint8Array(12));
    var payload = C.encode({map: [[6, iat], [7, cti]]});
    // Sig_structure with the credential's bytes as external AAD: the proof is for this credential.
    var toSign = C.encode(["Signature1", PROTECTED_ES256, record.credential, payload]);
    return window.crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, keys.privateKey, toSign)
      .then(function (signature) {
        var proof = C.encode([PROTECTED_ES256, {map: []}, payload, new Uint8Array(signature)]);
        return "EID1:" + C.base45(C.concat([new Uint8Array([0x82]), record.credential, proof]));
      });
  }

  function showOfflineUntil(record) {
    if (!offlineNote) { return; }
    var when = new Date(record.expiresAt - record.offset), text;
    try {
      text = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                     {dateStyle: "medium", timeStyle: "short"}).format(when);
    } catch (e) {
      text = when.toLocaleString();
    }
    offlineNote.textContent = (offlineNote.getAttribute("data-text") || "{when}").replace("{when}", text);
  }

  function startDevice() {
    var db = null, keys = null, record = null, renewing = false, lastTry = 0, refusal = "";

    function renew() {
      renewing = true;
      lastTry = Date.now();
      return fetchCredential(db, keys).then(function (fresh) {
        record = fresh;
        refusal = "";
        showOfflineUntil(record);
      }, function (error) {
        // keep the stored credential while it lasts; try again later
        refusal = (error && error.serverMessage) || "";
      }).then(function () { renewing = false; });
    }

    function tick() {
      var wait = usable(record) ? 60000 : 10000;  // how often to ask again when asking fails
      var renewal = (dueForRenewal(record) && !renewing && Date.now() - lastTry >= wait)
        ? renew() : Promise.resolve();
      return renewal.then(function () {
        if (!usable(record)) {
          box.classList.add("eid-qr-stale");
          showError(true, refusal);
          schedule(10000, tick);
          return null;
        }
        showError(false);
        schedule(refreshMs, tick);
        return presentation(keys, record).then(drawQr);
      });
    }

    // A phone that slept comes back with an old code: make a new one at once.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && keys) { tick(); }
    });

    return openStore().then(function (opened) {
      db = opened;
      return deviceKeys(db);
    }).then(function (made) {
      keys = made;
      return get(db, "credential");
    }).then(function (stored) {
      if (usable(stored)) {
        record = stored;
        showOfflineUntil(record);
      }
      return tick();
    });
  }

  // --- the fallback: the server's short-lived token (while EID_LEGACY_TOKENS is on) ---------

  function startLegacy() {
    var expiresAt = 0;
    var legacyError = document.getElementById("eid-qr-error-legacy") || errorBox;

    function refresh() {
      fetch(legacyUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
      }).then(function (response) {
        if (response.status === 401 || response.status === 403 || response.status === 404 ||
            response.status === 409) {
          if (reloadOnce()) { return null; }
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (!data) { return; }
        box.innerHTML = data.svg;  // an SVG the server made with segno
        box.classList.remove("eid-qr-stale");
        if (legacyError) { legacyError.hidden = true; }
        expiresAt = Date.now() + data.expires_in * 1000;
        // Renew a quarter of the lifetime before expiry (at least 10 s before).
        schedule(1000 * Math.max(data.expires_in - Math.max(10, data.expires_in / 4), 5), refresh);
      }).catch(function () {
        if (legacyError) { legacyError.hidden = false; }
        if (Date.now() >= expiresAt) { box.classList.add("eid-qr-stale"); }
        schedule(5000, refresh);
      });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && expiresAt - Date.now() < 20000) { refresh(); }
    });
    refresh();
  }

  var capable = !!(C && credentialUrl && cardId && typeof window.qrcode === "function" &&
                   window.crypto && window.crypto.subtle && window.indexedDB &&
                   window.Promise && window.fetch && window.TextEncoder);
  if (!capable) {
    box.setAttribute("data-mode", "legacy");
    startLegacy();
    return;
  }
  box.setAttribute("data-mode", "device");
  startDevice().catch(function () {
    // IndexedDB refused (a private window of some browsers) or no ECDSA: the old way
    box.setAttribute("data-mode", "legacy");
    startLegacy();
  });
}());
