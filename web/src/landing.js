// The landing page: the key is sent once, as Bearer, to POST /v1/session; the answer's HttpOnly cookie
// carries the session from then on, and the key is dropped from the form.
import { applyI18n, switchLanguage, t } from "./i18n.js";

applyI18n();
document.getElementById("lang").addEventListener("click", () => switchLanguage());

const form = document.getElementById("signin");
const input = document.getElementById("key");
const error = document.getElementById("signin-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const key = input.value.trim();
  input.value = "";
  const response = await fetch("/v1/session", {
    method: "POST", credentials: "same-origin",
    headers: { Authorization: `Bearer ${key}`, Accept: "application/json" },
  });
  if (response.ok) {
    location.assign("/map");
    return;
  }
  const problem = await response.json().catch(() => ({}));
  error.textContent = `${t("badKey")}: ${problem.detail ?? response.status}`;
  input.focus();
});
