/* Scans that wait on the phone until they can be sent.
 *
 * A scan is kept (localStorage) the moment it is read, with an Idempotency-Key of its own, and
 * sent by itself when the network comes back: the server counts a key once, so a scan is never
 * lost and never counted twice, however often it is sent. A session that ended meanwhile keeps
 * the queue: the customer is asked to sign in again, and the scan page sends it afterwards. */
(function () {
  "use strict";
  var STORE = "rewards.waitingScans";

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || []; } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(STORE, JSON.stringify(items)); }
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function add(token) {
    var items = load();
    if (!items.some(function (item) { return item.token === token; })) {
      items.push({ token: token, key: newKey(), at: Date.now() });
      save(items);
    }
  }
  function remove(token) {
    save(load().filter(function (item) { return item.token !== token; }));
  }

  async function freshCsrfToken() {
    var page = await fetch("/me/scan", { credentials: "same-origin", cache: "no-store" });
    if (new URL(page.url).pathname.indexOf("/sign-in") === 0) { return null; }
    var html = await page.text();
    var field = new DOMParser().parseFromString(html, "text/html").querySelector("input[name=csrf_token]");
    return field ? field.value : null;
  }

  /* One waiting scan: "sent" (its page says what became of it), "sign-in", "offline" or
   * "later" (a limit or a busy server: it stays and is tried again). */
  async function send(item, csrf) {
    var form = new FormData();
    form.append("csrf_token", csrf);
    var response;
    try {
      response = await fetch("/c/" + item.token, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { "Idempotency-Key": item.key }
      });
    } catch (e) {
      return { outcome: "offline" };
    }
    var path = new URL(response.url).pathname;
    if (path.indexOf("/sign-in") === 0) { return { outcome: "sign-in" }; }
    if (response.status === 400 || response.status === 403) { return { outcome: "csrf" }; }
    if (response.status === 429 || response.status >= 500) { return { outcome: "later" }; }
    return { outcome: "sent", url: response.url };
  }

  /* Send every waiting scan, oldest first. */
  async function flush(csrf) {
    var sent = [];
    var items = load();
    for (var i = 0; i < items.length; i++) {
      var result = await send(items[i], csrf);
      if (result.outcome === "csrf") {
        csrf = await freshCsrfToken();
        if (!csrf) { return { sent: sent, stopped: "sign-in" }; }
        result = await send(items[i], csrf);
      }
      if (result.outcome === "sent") {
        remove(items[i].token);
        sent.push({ token: items[i].token, url: result.url });
      } else if (result.outcome !== "later") {
        return { sent: sent, stopped: result.outcome };
      }
    }
    return { sent: sent, stopped: null };
  }

  window.rewardsQueue = { add: add, load: load, flush: flush };
})();
