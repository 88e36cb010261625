// Vigil review: keyboard-first grading, reveal only while held. No dependencies,
// nothing loaded from elsewhere (the app's Content Security Policy forbids it).
"use strict";
(function () {
  const body = document.body;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(data || {}),
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) { throw new Error(j.error || r.status); } return j; });
    });
  }

  // -- break reminder (per the examiner's settings) -------------------------------------
  const breakBox = document.getElementById("break");
  const breakMinutes = Number(body.dataset.breakMinutes || 0);
  const breakReveals = Number(body.dataset.breakReveals || 0);
  function since() { return Number(sessionStorage.getItem("vigil-since") || 0); }
  if (!since()) { sessionStorage.setItem("vigil-since", String(Date.now())); }
  function reveals() { return Number(sessionStorage.getItem("vigil-reveals") || 0); }
  function checkBreak() {
    if (!breakBox) { return; }
    const minutes = (Date.now() - since()) / 60000;
    if ((breakMinutes && minutes >= breakMinutes) || (breakReveals && reveals() >= breakReveals)) {
      breakBox.hidden = false;
    }
  }
  if (breakBox) {
    document.getElementById("break-done").addEventListener("click", function () {
      sessionStorage.setItem("vigil-since", String(Date.now()));
      sessionStorage.setItem("vigil-reveals", "0");
      breakBox.hidden = true;
    });
    setInterval(checkBreak, 30000);
    checkBreak();
  }

  const grid = document.getElementById("grid");
  if (!grid) { return; }
  const cards = Array.prototype.slice.call(grid.querySelectorAll(".card"));
  const statusLine = document.getElementById("status");
  const queue = body.dataset.queue;
  const lead = body.dataset.lead === "1";
  const keys = {};
  document.querySelectorAll("#legend li[data-key]").forEach(function (li) { keys[li.dataset.key] = li.dataset.category; });
  let current = 0;

  function say(text) { statusLine.textContent = text; }
  function select(i) {
    if (!cards.length) { return; }
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach(function (c, n) { c.classList.toggle("selected", n === current); });
    cards[current].focus({ preventScroll: true });
    cards[current].scrollIntoView({ block: "nearest" });
  }
  function nextOpen() {
    for (let i = current + 1; i < cards.length; i++) { if (!cards[i].classList.contains("done")) { return select(i); } }
    select(current + 1);
  }

  function decide(key) {
    const card = cards[current];
    if (!card) { return; }
    const shas = card.dataset.shas.split(" ");
    const resolve = queue === "disputed" && lead;
    post("/api/decide", { sha256s: shas, key: key, resolve: resolve }).then(function (done) {
      card.classList.add("done");
      card.querySelector(".decision").textContent = (resolve ? "resolved " : "") + key + " (" + shas.length + ")";
      say("Recorded " + key + " for " + shas.length + " medi" + (shas.length === 1 ? "um" : "a") +
          (done.confirmed.length ? "; confirmed " + done.confirmed.length : ""));
      nextOpen();
    }).catch(function (e) { say("Refused: " + e.message); });
  }

  function undo() {
    post("/api/undo", {}).then(function (r) {
      say(r.undone.length ? "Undone: " + r.undone.length + " medi" + (r.undone.length === 1 ? "um" : "a") : "Nothing to undo");
      const shas = r.undone;
      cards.forEach(function (c) {
        if (c.dataset.shas.split(" ").some(function (s) { return shas.indexOf(s) >= 0; })) {
          c.classList.remove("done");
          c.querySelector(".decision").textContent = "";
        }
      });
    }).catch(function (e) { say("Refused: " + e.message); });
  }

  // -- reveal: only while held ------------------------------------------------------------
  let reveal = null; // {card, token, url, started}
  function startReveal(card, mode, x, y) {
    if (reveal || !card) { return; }
    const img = card.querySelector(".pic");
    reveal = { card: card, token: null, pending: true, mode: mode };
    const mine = reveal;
    post("/api/reveal", { sha256: card.dataset.first, mode: mode }).then(function (r) {
      if (reveal !== mine) { // released before the server answered: end it at once
        post("/api/reveal/end", { token: r.token });
        return;
      }
      mine.token = r.token; mine.url = r.url;
      img.src = r.url + "?x=" + x.toFixed(3) + "&y=" + y.toFixed(3);
      card.classList.add("revealed");
      sessionStorage.setItem("vigil-reveals", String(reveals() + 1));
    }).catch(function (e) { reveal = null; say("Refused: " + e.message); });
  }
  function moveKeyhole(x, y) {
    if (reveal && reveal.token && reveal.mode === "keyhole") {
      reveal.card.querySelector(".pic").src = reveal.url + "?x=" + x.toFixed(3) + "&y=" + y.toFixed(3);
    }
  }
  function endReveal() {
    if (!reveal) { return; }
    const done = reveal;
    reveal = null;
    const img = done.card.querySelector(".pic");
    img.src = img.dataset.blurred;
    done.card.classList.remove("revealed");
    if (done.token) { post("/api/reveal/end", { token: done.token }); }
    checkBreak();
  }
  function fractions(img, ev) {
    const box = img.getBoundingClientRect();
    return [(ev.clientX - box.left) / box.width, (ev.clientY - box.top) / box.height];
  }
  let pointer = [0.5, 0.5];
  cards.forEach(function (card, i) {
    const img = card.querySelector(".pic");
    img.addEventListener("mousedown", function (ev) {
      ev.preventDefault();
      select(i);
      const xy = fractions(img, ev);
      startReveal(card, ev.shiftKey ? "keyhole" : "full", xy[0], xy[1]);
    });
    img.addEventListener("mousemove", function (ev) { pointer = fractions(img, ev); moveKeyhole(pointer[0], pointer[1]); });
    img.addEventListener("mouseup", endReveal);
    img.addEventListener("mouseleave", endReveal);
    card.addEventListener("click", function () { select(i); });
  });
  window.addEventListener("blur", endReveal);
  document.addEventListener("visibilitychange", endReveal);

  document.addEventListener("keydown", function (ev) {
    if (ev.target && (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT")) { return; }
    if (ev.key === " " || (ev.key === "z" && !ev.ctrlKey)) {
      ev.preventDefault();
      if (!ev.repeat) { startReveal(cards[current], ev.key === "z" ? "keyhole" : "full", pointer[0], pointer[1]); }
      return;
    }
    if (ev.repeat) { return; }
    if (ev.key === "ArrowRight" || ev.key === "j") { select(current + 1); }
    else if (ev.key === "ArrowLeft" || ev.key === "k") { select(current - 1); }
    else if (ev.key === "u" || (ev.key === "z" && ev.ctrlKey)) { undo(); }
    else if (queue === "matched" && ev.key === "a") { decide("agree"); }
    else if (queue === "matched" && ev.key === "d") { decide("dispute"); }
    else if (Object.prototype.hasOwnProperty.call(keys, ev.key)) { decide(keys[ev.key]); }
    else { return; }
    ev.preventDefault();
  });
  document.addEventListener("keyup", function (ev) {
    if (ev.key === " " || ev.key === "z") { ev.preventDefault(); endReveal(); }
  });
  select(0);
})();
