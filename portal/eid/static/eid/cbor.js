// The few encodings the card page needs to make a presentation (docs: the e-ID presentation
// format, issue 15): CBOR (RFC 8949) for unsigned and negative integers, byte strings, text,
// arrays and maps with integer keys, always with definite lengths and the shortest heads (as
// Python's cbor2 writes them); base45 (RFC 9285) for the QR's alphanumeric mode; base64url.
// Exposed as window.EidCodec.
(function (global) {
  "use strict";

  function concat(parts) {
    var length = 0, i;
    for (i = 0; i < parts.length; i++) { length += parts[i].length; }
    var out = new Uint8Array(length), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  // The head of a data item: major type (0-7) and its argument, in the shortest form.
  function head(major, n) {
    var m = major << 5;
    if (n < 24) { return new Uint8Array([m | n]); }
    if (n < 0x100) { return new Uint8Array([m | 24, n]); }
    if (n < 0x10000) { return new Uint8Array([m | 25, n >>> 8, n & 0xff]); }
    if (n <= 0xffffffff) {
      return new Uint8Array([m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    }
    throw new RangeError("CBOR: a number too large for this encoder");
  }

  function utf8(text) { return new TextEncoder().encode(text); }

  // encode(value): an integer, a Uint8Array (byte string), a string (text), an Array, or
  // {map: [[key, value], ...]} (a map whose pairs are written in the order given).
  function encode(value) {
    if (typeof value === "number") {
      if (Math.floor(value) !== value) { throw new TypeError("CBOR: integers only"); }
      return value >= 0 ? head(0, value) : head(1, -1 - value);
    }
    if (value instanceof Uint8Array) { return concat([head(2, value.length), value]); }
    if (typeof value === "string") { var bytes = utf8(value); return concat([head(3, bytes.length), bytes]); }
    var parts = [], i;
    if (Array.isArray(value)) {
      parts.push(head(4, value.length));
      for (i = 0; i < value.length; i++) { parts.push(encode(value[i])); }
      return concat(parts);
    }
    if (value && Array.isArray(value.map)) {
      parts.push(head(5, value.map.length));
      for (i = 0; i < value.map.length; i++) {
        parts.push(encode(value.map[i][0]), encode(value.map[i][1]));
      }
      return concat(parts);
    }
    throw new TypeError("CBOR: cannot encode " + typeof value);
  }

  // RFC 9285: two bytes make three characters (little end first), a last odd byte two.
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  function base45(bytes) {
    var out = "", i, n;
    for (i = 0; i + 1 < bytes.length; i += 2) {
      n = bytes[i] * 256 + bytes[i + 1];
      out += B45.charAt(n % 45) + B45.charAt(Math.floor(n / 45) % 45) + B45.charAt(Math.floor(n / 2025));
    }
    if (bytes.length % 2) {
      n = bytes[bytes.length - 1];
      out += B45.charAt(n % 45) + B45.charAt(Math.floor(n / 45));
    }
    return out;
  }

  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  global.EidCodec = {concat: concat, encode: encode, base45: base45, fromBase64url: fromBase64url};
}(window));
