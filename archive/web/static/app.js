// Enhancements only: every page works without this file.
"use strict";
(function () {
  // "/" focuses the search box (as on many search sites), unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("q");
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.key === "/" && box && tag !== "input" && tag !== "textarea" && tag !== "select") {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Copy-citation button: the citation is selectable text without it.
  document.querySelectorAll("button.copy").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = button.parentNode.querySelector(".copied");
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { status.textContent = "Gekopieerd."; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  // Results update in place: the same URL as a plain submit, fetched as an HTML fragment.
  var form = document.getElementById("zoekformulier");
  var target = document.getElementById("resultaten");
  if (!form || !target || !window.fetch || !window.history.pushState) return;

  function urlOf(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "" && !(key === "sort" && value === "relevance") && !(key === "mode" && value === "hybrid")) {
        params.append(key, value);
      }
    });
    var query = params.toString();
    return "/search" + (query ? "?" + query : "");
  }

  function load(url, push) {
    var fragment = url + (url.indexOf("?") < 0 ? "?" : "&") + "_fragment=1";
    target.setAttribute("aria-busy", "true");
    return fetch(fragment, { headers: { "Accept": "text/html" } }).then(function (response) {
      if (!response.ok) { window.location.href = url; return; }
      return response.text().then(function (html) {
        target.innerHTML = html;
        target.removeAttribute("aria-busy");
        if (push) window.history.pushState({ url: url }, "", url);
        var heading = target.querySelector("h2");
        if (heading) { heading.setAttribute("tabindex", "-1"); }
      });
    }).catch(function () { window.location.href = url; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(urlOf(form), true);
  });
  target.addEventListener("click", function (event) {
    var anchor = event.target.closest("a");
    if (!anchor || anchor.origin !== window.location.origin || anchor.pathname !== "/search") return;
    event.preventDefault();
    load(anchor.pathname + anchor.search, true).then(function () { syncForm(anchor.search); });
  });
  window.addEventListener("popstate", function () {
    load(window.location.pathname + window.location.search, false).then(function () { syncForm(window.location.search); });
  });

  // Keep the form fields in step with the URL after a facet link or back/forward.
  function syncForm(search) {
    var params = new URLSearchParams(search);
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) return;
      if (field.tagName.toLowerCase() === "select") {
        field.value = params.get(field.name) || field.options[0].value;
      } else if (field.type !== "hidden" && field.type !== "submit") {
        field.value = params.get(field.name) || "";
      }
    });
  }
})();
