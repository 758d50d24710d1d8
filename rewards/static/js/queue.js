/* Scans that wait on the phone until they can be sent.
 *
 * A scan is kept (localStorage) the moment it is read, with an Idempotency-Key of its own, and
 * sent by itself when the network comes back: the server counts a key once, so a scan is never
 * lost and never counted twice, however often it is sent. A session that ended meanwhile keeps
 * the queue: the customer is asked to sign in again, and the scan page sends it afterwards.
 * Each scan belongs to the customer who made it: on a phone two people share, one's waiting
 * scans are never sent, nor shown, under the other's session. */
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

  function mine(owner) {
    return load().filter(function (item) { return item.owner === owner; });
  }
  function add(token, owner) {
    var items = load();
    if (!items.some(function (item) { return item.token === token && item.owner === owner; })) {
      items.push({ token: token, owner: owner, key: newKey(), at: Date.now() });
      save(items);
    }
  }
  function remove(token, owner) {
    save(load().filter(function (item) { return !(item.token === token && item.owner === owner); }));
  }
  function rekey(token, owner) {
    save(load().map(function (item) {
      if (item.token === token && item.owner === owner) { item.key = newKey(); }
      return item;
    }));
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
    // Collected, or an answer that no retry changes (no such coupon, withdrawn, expired): its
    // page says which.
    if (response.ok || response.status === 404 || response.status === 410) {
      return { outcome: "sent", url: response.url };
    }
    if (response.status === 422) { return { outcome: "rekey" }; }
    return { outcome: "later" };  // a limit, a busy server: it stays and is tried again
  }

  /* Send every waiting scan of `owner`, oldest first. */
  async function flush(csrf, owner) {
    var sent = [];
    var items = mine(owner);
    for (var i = 0; i < items.length; i++) {
      var result = await send(items[i], csrf);
      if (result.outcome === "csrf") {
        csrf = await freshCsrfToken();
        if (!csrf) { return { sent: sent, stopped: "sign-in" }; }
        result = await send(items[i], csrf);
      }
      if (result.outcome === "sent") {
        remove(items[i].token, owner);
        sent.push({ token: items[i].token, url: result.url });
      } else if (result.outcome === "rekey") {
        rekey(items[i].token, owner);  // its key was taken by another request: tried again later
      } else if (result.outcome !== "later") {
        return { sent: sent, stopped: result.outcome };
      }
    }
    return { sent: sent, stopped: null };
  }

  window.rewardsQueue = { add: add, mine: mine, flush: flush };
})();
