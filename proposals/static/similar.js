// While a resident types a proposal title, show up to five similar proposals so they can
// endorse one instead of writing a duplicate. Plain JS, no dependencies.
(function () {
  "use strict";
  var input = document.querySelector("[data-similar-url]");
  var box = document.getElementById("similar");
  if (!input || !box) { return; }
  var list = box.querySelector("ul");
  var url = input.getAttribute("data-similar-url");
  var countLabel = box.getAttribute("data-endorsements") || "";
  var timer = null;
  var last = "";

  function render(items) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.title;
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " · " + item.status_label + " · " + countLabel + " " + item.endorsement_count;
      li.appendChild(meta);
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
  }

  function lookup() {
    var title = input.value.trim();
    if (title === last) { return; }
    last = title;
    if (title.length < 2) { render([]); return; }
    var lang = document.documentElement.getAttribute("lang") || "ko";
    fetch(url + "?lang=" + encodeURIComponent(lang) + "&title=" + encodeURIComponent(title),
          {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(function (data) { if (input.value.trim() === title) { render(data.items || []); } })
      .catch(function () { render([]); });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 250);
  });
})();
