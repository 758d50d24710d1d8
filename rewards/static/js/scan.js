/* The scan page: the camera, and the queue of scans made without network.
 *
 * The camera reads a QR code with the browser's BarcodeDetector where it has one, and with
 * jsQR (served from this service, loaded only when needed) where it does not. Whatever is read
 * or typed goes into the queue first, then the queue is sent: online, the customer lands on the
 * coupon's page at once; offline, the scan waits on the phone and is shown as waiting. */
(function () {
  "use strict";
  var page = document.getElementById("scan-page");
  if (!page) { return; }
  var form = document.getElementById("typed-code");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var owner = page.dataset.owner;
  var cameraButton = document.getElementById("camera-button");
  var viewer = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var waiting = document.getElementById("waiting");
  var waitingList = document.getElementById("waiting-list");
  var signInAgain = document.getElementById("sign-in-again");
  var sentSection = document.getElementById("sent");
  var sentList = document.getElementById("sent-list");
  var TOKEN = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/i;

  function say(text) { status.textContent = text; }

  function showWaiting() {
    var items = window.rewardsQueue.mine(owner);
    waitingList.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = page.dataset.waitingItem.replace("%s", item.token.slice(0, 8));
      waitingList.appendChild(li);
    });
    waiting.hidden = items.length === 0;
  }

  var sending = false;
  async function sendWaiting() {
    if (sending || window.rewardsQueue.mine(owner).length === 0) { return; }
    sending = true;
    try {
      var result = await window.rewardsQueue.flush(csrf, owner);
      signInAgain.hidden = result.stopped !== "sign-in";
      showWaiting();
      // One scan read and sent at once: show its page, as the typed form would.
      if (result.sent.length === 1 && window.rewardsQueue.mine(owner).length === 0 && page.dataset.follow === "yes") {
        window.location.assign(result.sent[0].url);
        return;
      }
      result.sent.forEach(function (done) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = done.url;
        link.textContent = page.dataset.sentItem.replace("%s", done.token.slice(0, 8));
        li.appendChild(link);
        sentList.appendChild(li);
      });
      if (result.sent.length) { sentSection.hidden = false; }
    } finally {
      sending = false;
      page.dataset.follow = "no";
    }
  }

  function read(text) {
    var found = TOKEN.exec(text || "");
    if (!found) { say(page.dataset.notACoupon); return false; }
    window.rewardsQueue.add(found[0].toLowerCase(), owner);
    showWaiting();
    page.dataset.follow = "yes";
    sendWaiting();
    return true;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (read(form.querySelector("input[name=code]").value)) { form.reset(); }
  });

  // Camera ---------------------------------------------------------------------------------
  var stream = null;
  var detector = null;
  var canvas = document.createElement("canvas");

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(); return; }
      var script = document.createElement("script");
      script.src = page.dataset.decoder;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function decodeFrame() {
    if (detector) {
      var codes = await detector.detect(video);
      return codes.length ? codes[0].rawValue : null;
    }
    var width = video.videoWidth, height = video.videoHeight;
    if (!width || !height) { return null; }
    canvas.width = width; canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    var code = window.jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  }

  function stopCamera() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    viewer.hidden = true;
  }

  async function scanLoop() {
    if (!stream) { return; }
    try {
      var text = await decodeFrame();
      if (text && TOKEN.test(text)) { stopCamera(); read(text); return; }
    } catch (e) { /* a frame that could not be read: try the next one */ }
    setTimeout(scanLoop, 150);
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(page.dataset.noCamera); return; }
    try {
      if ("BarcodeDetector" in window && (await BarcodeDetector.getSupportedFormats()).indexOf("qr_code") >= 0) {
        detector = new BarcodeDetector({ formats: ["qr_code"] });
      } else {
        await loadJsQR();
      }
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      say(page.dataset.noCamera);
      return;
    }
    video.srcObject = stream;
    viewer.hidden = false;
    await video.play();
    say(page.dataset.pointCamera);
    scanLoop();
  }

  cameraButton.hidden = false;
  cameraButton.addEventListener("click", function () { if (stream) { stopCamera(); } else { startCamera(); } });
  window.addEventListener("online", sendWaiting);
  showWaiting();
  sendWaiting();
})();
