/* The live preview (edc preview): poll the file's state and load the page again when the
   file changed. The page carries the SHA-256 it was made from (body data-sha), the state URL
   (data-state) and its own GET URL (data-url: a "try it" result is a POST, never re-sent). */
(function () {
  "use strict";
  var body = document.body;
  var shown = body.dataset.sha;
  var KEY = "edc-preview-scroll:" + body.dataset.url;
  var INTERVAL = 300;

  var kept = window.sessionStorage && sessionStorage.getItem(KEY);
  if (kept !== null && kept !== undefined) {
    sessionStorage.removeItem(KEY);
    window.scrollTo(0, parseInt(kept, 10) || 0);
  }

  function again(delay) { window.setTimeout(poll, delay); }

  function poll() {
    fetch(body.dataset.state, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.sha256 !== shown) {
          if (window.sessionStorage) { sessionStorage.setItem(KEY, String(window.scrollY)); }
          window.location.replace(body.dataset.url + window.location.hash);
          return;
        }
        again(INTERVAL);
      })
      .catch(function () { again(1000); }); /* the preview was stopped: keep trying, slower */
  }

  again(INTERVAL);
})();
