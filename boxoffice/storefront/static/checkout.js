// Checkout: Stripe.js's card fields, the hold's countdown, and one payment at a time.
// The card number goes to Stripe only; our server gets Stripe's one-time token.
(function () {
  "use strict";
  const root = document.getElementById("checkout");
  if (!root || typeof Stripe === "undefined") return;
  const text = root.dataset;
  const stripe = Stripe(text.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const form = document.getElementById("pay-form");
  const button = document.getElementById("pay");
  const error = document.getElementById("pay-error");
  const status = document.getElementById("pay-status");
  const countdown = document.getElementById("countdown");
  let expires = text.expires ? new Date(text.expires) : null;
  let busy = false;
  let ended = false;

  function tick() {
    if (!expires) return;
    const left = Math.max(0, Math.round((expires - new Date()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    countdown.textContent = minutes + ":" + seconds;
    if (left === 0 && !ended) {
      ended = true;
      button.disabled = true;
      error.textContent = text.msgExpired;
      setTimeout(function () { window.location.assign(text.orderUrl); }, 3000);
    }
  }
  tick();
  setInterval(tick, 1000);

  function fail(message) {
    error.textContent = message;
    status.textContent = "";
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy || ended) return;  // a double click pays once
    busy = true;
    button.disabled = true;
    error.textContent = "";
    status.textContent = text.msgPaying;
    let leaving = false;
    try {
      const made = await stripe.createToken(card);
      if (made.error || !made.token) {
        fail((made.error && made.error.message) || text.msgDeclined);
        return;
      }
      const answer = await fetch(text.payUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": text.csrf },
        body: JSON.stringify({ token: made.token.id }),
      });
      const body = await answer.json().catch(function () { return {}; });
      if (!answer.ok) {
        fail(body.detail || text.msgNetwork);
        return;
      }
      if (body.hold_expires_at) expires = new Date(body.hold_expires_at);
      if (body.status === "declined") {
        fail(body.decline_reason || text.msgDeclined);
        return;
      }
      if (body.status === "requires_action") {
        status.textContent = text.msgConfirming;
        const confirmed = await stripe.confirmCardPayment(body.client_secret);
        const intent = confirmed.paymentIntent;
        if (confirmed.error || !intent || intent.status !== "succeeded") {
          fail((confirmed.error && confirmed.error.message) || text.msgAuthFailed);
          return;
        }
      }
      leaving = true;
      window.location.assign(text.orderUrl);
    } catch (problem) {
      fail(text.msgNetwork);
    } finally {
      if (!leaving) {
        busy = false;
        button.disabled = ended;
      }
    }
  });
})();
