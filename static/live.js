// Live updates: when the daemon's state changes, fetch this page again and
// swap in its <main>. Without JavaScript the page is simply static.
(function () {
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var source = new EventSource("/live");
  source.onmessage = function () {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var main = fresh.getElementById("live"), header = fresh.querySelector("header");
        if (main) document.getElementById("live").replaceWith(main);
        if (header) document.querySelector("header").replaceWith(header);
        document.body.setAttribute("data-updated", String(Date.now()));
      })
      .catch(function () {});
  };
})();
