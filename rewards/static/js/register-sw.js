/* The service worker lets the scan page open with no network (see /sw.js). */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the page works without it */ });
  });
}
