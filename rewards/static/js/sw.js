/* The service worker: /me/scan opens with no network, so a customer on a building site can scan
 * while the signal is gone (the scans wait on the phone, see queue.js). Everything it keeps
 * comes from the network when there is one (a new release's files arrive at once), and from its
 * cache when there is none. Signing out forgets the kept page: it was that customer's. */
"use strict";
var CACHE = "rewards-v2";
var PAGE = "/me/scan";
var FILES = [
  "/static/css/site.css",
  "/static/js/queue.js",
  "/static/js/scan.js",
  "/static/js/register-sw.js",
  "/static/vendor/jsqr-1.4.0/jsQR.js",
  "/static/icons/icon-192.png"
];

function keepPage(response) {
  // Only the page itself, never the sign-in page a lapsed session is sent to.
  if (response.ok && !response.redirected) {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { cache.put(PAGE, copy); });
  }
  return response;
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(FILES).then(function () {
        return fetch(PAGE, { credentials: "same-origin" }).then(keepPage).catch(function () {});
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keepFile(request, response) {
  if (response.ok) {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === "/sign-out") {
    event.respondWith(
      caches.open(CACHE).then(function (cache) { return cache.delete(PAGE); }).then(function () { return fetch(request); })
    );
    return;
  }
  if (request.method !== "GET") { return; }
  if (url.pathname === PAGE) {
    event.respondWith(
      fetch(request).then(keepPage).catch(function () {
        return caches.match(PAGE).then(function (kept) { return kept || Response.error(); });
      })
    );
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(
      fetch(request).then(function (response) { return keepFile(request, response); }).catch(function () {
        return caches.match(request).then(function (kept) { return kept || Response.error(); });
      })
    );
  }
});
