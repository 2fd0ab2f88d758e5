// Every request goes to this page's own origin, with the session cookie (same-origin credentials).
// Writes carry the CSRF token that GET /v1/session returned; problems (RFC 9457) become Errors with `detail`.
let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const sent = { Accept: "application/geo+json, application/json;q=0.9", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) sent["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {
    method, headers: sent, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error(data?.detail || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(name, value);
  }
  return q.toString();
}
