// The dashboard's live part. The page works without it (the list is drawn
// by the server and refreshed by <noscript>'s meta refresh; the buttons are
// plain forms); with it, the list is redrawn each second and the buttons
// act without leaving the page. Every action carries the page's CSRF token.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const live = document.getElementById("live");
const status = document.getElementById("status");
let acting = 0;

function say(message, failed) {
  status.textContent = message;
  status.classList.toggle("failed", Boolean(failed));
}

async function refresh() {
  try {
    const answer = await fetch("/dashboard/live", { cache: "no-store", credentials: "same-origin" });
    if (answer.status === 401) {
      location.reload();
      return;
    }
    if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
    const html = await answer.text();
    if (acting === 0) live.innerHTML = html;
    if (status.dataset.lost) {
      delete status.dataset.lost;
      say("");
    }
  } catch (error) {
    status.dataset.lost = "yes";
    say(`Lost touch with the server (${error.message}); trying again…`, true);
  }
}

live.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form[data-action]")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const what = `${form.dataset.action} ${form.dataset.mount}`;
  button.disabled = true;
  acting += 1;
  say(`${what}…`);
  try {
    const answer = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    });
    const body = await answer.json().catch(() => ({}));
    if (answer.ok) {
      say(`${what}: done${body.duration_ms !== undefined ? ` in ${body.duration_ms} ms` : ""}.`);
    } else {
      say(`${what} failed: ${body.error || answer.statusText}`, true);
    }
  } catch (error) {
    say(`${what} failed: ${error.message}`, true);
  } finally {
    acting -= 1;
    await refresh();
  }
});

document.body.dataset.live = "yes";
setInterval(refresh, 1000);
