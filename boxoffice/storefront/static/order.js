// The order page follows its order by itself: while it waits (reserving, paying, issuing the
// tickets), it asks for the changing part every two seconds and swaps it in when it changed
// (so a button is not replaced under the buyer's finger for nothing).
(function () {
  "use strict";
  const body = document.getElementById("order-body");
  if (!body) return;
  const url = body.dataset.statusUrl;
  let shown = null;
  function waiting() {
    const state = body.querySelector(".order-state");
    return state && state.dataset.waiting === "true";
  }
  async function poll() {
    if (!waiting()) return;
    try {
      const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (answer.ok) {
        const fresh = await answer.text();
        if (fresh !== shown) body.innerHTML = shown = fresh;
      }
    } catch (problem) {
      // offline for a moment: ask again at the next turn
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
