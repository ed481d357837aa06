// Building the page: every value from the API goes in as text (textContent / text nodes),
// never parsed as markup (tests/integration/test_console.py checks no HTML sink is used).

const PROPS = new Set(["value", "checked", "hidden", "disabled", "selected", "open", "required", "multiple"]);

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false && !PROPS.has(key)) continue;
    if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) { // one child or a (nested) list
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled control: <div class="field"><label for=id>text</label> control hint</div>. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = nextId("f");
  const parts = [h("label", { for: control.id, text: labelText }), control];
  if (hint) {
    const hintEl = h("small", { class: "hint", id: nextId("hint"), text: hint });
    control.setAttribute("aria-describedby", hintEl.id);
    parts.push(hintEl);
  }
  return h("div", { class: "field" }, parts);
}

/** An API error as the operator should see it: the message, the details and the request id. */
export function errorBox(err, title) {
  const box = h("div", { class: "error", role: "alert" });
  append(box, [h("strong", { text: title || "The request failed" }), " ",
    h("span", { class: "message", text: describe(err) })]);
  if (err && err.requestId) append(box, [" ", h("span", { class: "request-id", text: `request_id: ${err.requestId}` })]);
  return box;
}

export function describe(err) {
  if (!err) return "";
  const parts = [];
  if (err.status) parts.push(`${err.status}`);
  if (err.message) parts.push(err.message);
  return parts.join(" ");
}

/** A gregorian-seconds timestamp (Kazoo's) as an ISO date-time (UTC). */
export const GREGORIAN_OFFSET = 62167219200;
export function gregorianToDate(seconds) {
  return new Date((Number(seconds) - GREGORIAN_OFFSET) * 1000);
}
export function dateToGregorian(date) {
  return Math.floor(date.getTime() / 1000) + GREGORIAN_OFFSET;
}
export function formatGregorian(seconds) {
  if (typeof seconds !== "number") return "";
  return gregorianToDate(seconds).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

const COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
/** Natural order for names: "Carrier 2" before "Carrier 10", case ignored. */
export function naturalCompare(a, b) {
  return COLLATOR.compare(String(a ?? ""), String(b ?? ""));
}

/** 90 → "1 min 30 s", 3600 → "1 h", 21600 → "6 h": a number of seconds in plain words. */
export function humanSeconds(total) {
  const s = Math.max(0, Math.round(Number(total)));
  if (!Number.isFinite(s)) return "";
  const parts = [];
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  let rest = s;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n) parts.push(`${n} ${unit}`);
    rest -= n * size;
  }
  return parts.slice(0, 2).join(" ") || "0 s";
}

/** Seconds left at the rate seen so far (null until something is done). */
export function etaSeconds(done, total, elapsedMs) {
  if (!(done > 0) || !(elapsedMs > 0) || done >= total) return done >= total ? 0 : null;
  return ((total - done) * elapsedMs) / done / 1000;
}

/** Case-insensitive "does any of these values contain the query". */
export function matchesQuery(query, ...values) {
  const q = String(query || "").trim().toLowerCase();
  return !q || values.some((v) => v !== undefined && v !== null && String(v).toLowerCase().includes(q));
}
