// kb: Pagefind's search box in the header of every page (kb site build --search pagefind, or
// the kb plugin's `search: pagefind`). The theme's own search is off: its index is one file
// of every page (50 MB at 10,000 cards) that a phone downloads before its first result;
// Pagefind's index is chunked, so a first query downloads a few small files. Every file
// comes from this site (no other host), found relative to this script at assets/kb-search.js.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var root = new URL("../", script.src);
  var loading = null;

  function loadUi() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = new URL("pagefind/pagefind-ui.css", root).href;
      document.head.appendChild(css);
      var ui = document.createElement("script");
      ui.src = new URL("pagefind/pagefind-ui.js", root).href;
      ui.onload = resolve;
      ui.onerror = reject;
      document.head.appendChild(ui);
    });
    return loading;
  }

  function mount() {
    if (document.getElementById("kb-search")) return;
    var header = document.querySelector(".md-header__inner") || document.querySelector("header");
    if (!header) return;
    var box = document.createElement("div");
    box.id = "kb-search";
    box.className = "kb-search";
    box.setAttribute("role", "search");
    var source = header.querySelector(".md-header__source");
    header.insertBefore(box, source);
    loadUi().then(function () {
      /* global PagefindUI */
      new PagefindUI({
        element: "#kb-search",
        bundlePath: new URL("pagefind/", root).pathname,
        baseUrl: root.pathname,
        showSubResults: false,
        showImages: false,
        resetStyles: false,
        // a page that names an alert four times as an example must not outrank the card whose
        // triggers (weighted in card.html.j2) name it once
        ranking: { termFrequency: 0.0 },
        translations: { placeholder: "Search alerts, cards, postmortems" },
      });
    });
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(mount); // Material's instant navigation swaps pages without a reload
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
