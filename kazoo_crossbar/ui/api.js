// The public API, as any client calls it: /v2/… with the X-Auth-Token header. The token lives in
// sessionStorage (never in a URL); a 401 on a token-carrying call ends the session.

const SESSION_KEY = "kazoo_console.session";

export class ApiError extends Error {
  constructor(status, body) {
    const envelope = body && typeof body === "object" ? body : {};
    super(typeof envelope.message === "string" ? envelope.message : "request failed");
    this.status = status;
    this.error = envelope.error;
    this.data = envelope.data;
    this.requestId = envelope.request_id;
  }
}

let expiredHandler = () => {};
export function onExpired(fn) { expiredHandler = fn; }

export function getSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch (_) {
    return null;
  }
}
export function saveSession(session) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)); }
export function updateSession(changes) { saveSession({ ...getSession(), ...changes }); }
export function clearSession() { sessionStorage.removeItem(SESSION_KEY); }

export async function api(method, path, data, { query } = {}) {
  const session = getSession();
  const headers = { Accept: "application/json" };
  if (session && session.token) headers["X-Auth-Token"] = session.token;
  const init = { method, headers };
  if (data !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify({ data });
  }
  const qs = query ? "?" + new URLSearchParams(query).toString() : "";
  let resp;
  try {
    resp = await fetch(`/v2${path}${qs}`, init);
  } catch (e) {
    throw new ApiError(0, { message: `the service did not answer (${e.message})` });
  }
  let body = null;
  try {
    body = await resp.json();
  } catch (_) {
    body = { message: resp.statusText };
  }
  if (resp.ok) return body;
  const err = new ApiError(resp.status, body);
  if (resp.status === 401 && headers["X-Auth-Token"]) {
    clearSession();
    expiredHandler(err);
  }
  throw err;
}

/** Every row of a paged listing (follows next_start_key). */
export async function listAll(path, query = {}) {
  const rows = [];
  let startKey;
  for (let page = 0; page < 1000; page += 1) {
    const q = { ...query };
    if (startKey !== undefined) q.start_key = startKey;
    const body = await api("GET", path, undefined, { query: q });
    rows.push(...(Array.isArray(body.data) ? body.data : []));
    if (!body.next_start_key) break;
    startKey = body.next_start_key;
  }
  return rows;
}

let openapi = null;
/** The service's own OpenAPI document: the shipped JSON schemas are its components. */
export async function schemas() {
  if (!openapi) {
    const resp = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new ApiError(resp.status, { message: "could not load /openapi.json" });
    openapi = await resp.json();
  }
  return openapi.components.schemas;
}

/** For a `.catch` that falls back on a value: an expired session (401) still ends the screen. */
export function unlessExpired(fallback) {
  return (err) => {
    if (err && err.status === 401) throw err;
    return fallback;
  };
}
