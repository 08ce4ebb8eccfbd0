// Offline reading over https: every page or file read is kept, and opens again without network.
// Network first, so readers get corrections and new articles whenever they are online.
var CACHE = "site-pages-v1";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

// Fetches the request and keeps a copy of a good answer for the next time without network.
function fetchAndKeep(request) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (request.url.indexOf(new URL("media/", self.registration.scope).href) === 0) {
    // A photo's file is named by its bytes and never changes: a kept copy needs no network.
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetchAndKeep(request); }));
    return;
  }
  event.respondWith(
    fetchAndKeep(request).catch(function () {
      return caches.match(request).then(function (hit) {
        return hit || caches.match(new URL("404.html", self.registration.scope).href);
      });
    })
  );
});
