// A form generated from a shipped JSON schema (as /openapi.json serves it): strings, enums,
// integers, booleans, lists of strings (one per line), arrays of objects as repeatable groups,
// and anything else as JSON. Controls carry their Kazoo error key (`gateways.0.server`) in
// data-path, so the API's 400 errors are shown next to their fields.
import { append, clear, h, nextId } from "./dom.js";

const REF = "#/components/schemas/";

export function resolve(schemas, node) {
  if (node && typeof node.$ref === "string") return schemas[node.$ref.replace(REF, "")] || {};
  return node || {};
}

export function kindOf(schemas, prop) {
  const p = resolve(schemas, prop);
  if (Array.isArray(p.enum) && p.type === "string") return "enum";
  if (p.type === "string") return "string";
  if (p.type === "integer" || p.type === "number") return "integer";
  if (p.type === "boolean") return "boolean";
  if (p.type === "array") {
    const items = resolve(schemas, p.items);
    if (items.type === "string") return "lines";
    if (items.type === "object" && items.properties) return "group";
  }
  return "json";
}

function humanize(key) {
  return key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** Kazoo's error key part: dots inside a key are %2E. */
function keyPart(key) {
  return String(key).replace(/\./g, "%2E");
}

export class SchemaForm {
  /**
   * schemas: components.schemas; name: the schema; options.primary: [keys shown first, in order];
   * options.items: {groupKey: {primary: [...], label: "Gateway"}}.
   */
  constructor(schemas, name, options = {}) {
    this.schemas = schemas;
    this.schema = resolve(schemas, { $ref: REF + name });
    this.options = options;
    this.controls = []; // {path: [...], kind, el, prop, original}
    this.groups = [];
  }

  /** The form's fields for `doc` ({} to create one). */
  render(doc) {
    this.original = JSON.parse(JSON.stringify(doc || {}));
    this.creating = !doc || !doc.id;
    const box = h("div", { class: "schema-form" });
    append(box, this.fields(this.schema, this.original, [], this.options));
    return box;
  }

  fields(schema, values, path, options) {
    const keys = Object.keys(schema.properties || {});
    const primary = (options.primary || []).filter((k) => keys.includes(k));
    const rest = keys.filter((k) => !primary.includes(k)).sort();
    const required = new Set(schema.required || []);
    const out = primary.map((k) => this.field(k, schema.properties[k], values, path, required.has(k), options));
    if (rest.length) {
      const details = h("details", { class: "more" }, h("summary", { text: options.moreLabel || "More settings" }));
      append(details, rest.map((k) => this.field(k, schema.properties[k], values, path, required.has(k), options)));
      out.push(details);
    }
    return out;
  }

  field(key, prop, values, path, required, options) {
    const p = resolve(this.schemas, prop);
    const kind = kindOf(this.schemas, prop);
    const fullPath = [...path, key];
    const present = Object.prototype.hasOwnProperty.call(values, key);
    const value = values[key];
    const label = humanize(key) + (required ? " (required)" : "");
    const id = nextId("sf");
    if (kind === "group") {
      return this.group(key, p, Array.isArray(value) ? value : [], fullPath, options.items?.[key] || {});
    }
    let control;
    if (kind === "enum") {
      control = h("select", { id, name: fullPath.join(".") },
        h("option", { value: "", text: "(not set)" }),
        p.enum.map((v) => h("option", { value: v, text: v })));
      control.value = present ? String(value) : (this.creating && p.default !== undefined ? String(p.default) : "");
    } else if (kind === "string") {
      control = h("input", { id, type: /password/.test(key) ? "password" : "text", name: fullPath.join("."), autocomplete: "off" });
      control.value = present && value !== null ? String(value) : "";
      if (required) control.required = true;
    } else if (kind === "integer") {
      control = h("input", { id, type: "number", step: "1", inputmode: "numeric", name: fullPath.join("."),
        placeholder: p.default !== undefined ? String(p.default) : "" });
      control.value = present && value !== null ? String(value) : "";
    } else if (kind === "boolean") {
      control = h("input", { id, type: "checkbox", name: fullPath.join(".") });
      control.checked = present ? value === true : p.default === true;
    } else if (kind === "lines") {
      control = h("textarea", { id, rows: 2, name: fullPath.join(".") });
      control.value = Array.isArray(value) ? value.join("\n") : "";
    } else {
      control = h("textarea", { id, rows: 2, class: "json", name: fullPath.join("."), spellcheck: "false" });
      control.value = present ? JSON.stringify(value, null, 1) : "";
    }
    control.dataset.path = fullPath.map(keyPart).join(".");
    const hintText = [p.description, kind === "lines" ? "one per line" : "", kind === "json" ? "JSON" : ""]
      .filter(Boolean).join(" · ");
    const hint = h("small", { class: "hint", id: nextId("hint"), text: hintText });
    const errorsEl = h("span", { class: "field-error", id: nextId("err"), "aria-live": "polite" });
    control.setAttribute("aria-describedby", `${hint.id} ${errorsEl.id}`);
    this.controls.push({ path: fullPath, kind, el: control, prop: p, present, errorsEl });
    const cls = kind === "boolean" ? "field check" : "field";
    return h("div", { class: cls, dataset: { field: control.dataset.path } },
      h("label", { for: id, text: label }), control, hint, errorsEl);
  }

  group(key, itemsSchemaOwner, items, path, options) {
    const itemSchema = resolve(this.schemas, itemsSchemaOwner.items);
    const label = options.label || humanize(key);
    const list = h("div", { class: "group-items" });
    const state = { key, path, itemSchema, list, entries: [], options };
    this.groups.push(state);
    const errorsEl = h("span", { class: "field-error", "aria-live": "polite" });
    const addButton = h("button", { type: "button", class: "add", text: `Add ${label.toLowerCase()}` });
    const fieldset = h("fieldset", { class: "group", dataset: { field: path.map(keyPart).join(".") } },
      h("legend", { text: humanize(key) }), list, errorsEl, addButton);
    state.errorsEl = errorsEl;
    const addItem = (values) => {
      const before = this.controls.length;
      const index = state.entries.length;
      const itemPath = [...path, index];
      const box = h("fieldset", { class: "group-item" }, h("legend", { text: `${label} ${index + 1}` }));
      append(box, this.fields(itemSchema, values, itemPath, { primary: options.primary, moreLabel: `More ${label.toLowerCase()} settings` }));
      const entry = { box, controls: this.controls.slice(before), values };
      const remove = h("button", { type: "button", class: "remove", text: `Remove ${label.toLowerCase()} ${index + 1}`,
        onclick: () => {
          state.entries = state.entries.filter((e) => e !== entry);
          this.controls = this.controls.filter((c) => !entry.controls.includes(c));
          box.remove();
          this.renumber(state);
        } });
      box.append(remove);
      state.entries.push(entry);
      list.append(box);
      return box;
    };
    addButton.addEventListener("click", () => {
      const box = addItem({});
      const first = box.querySelector("input, select, textarea");
      if (first) first.focus();
    });
    items.forEach((item) => addItem(item && typeof item === "object" ? item : {}));
    return fieldset;
  }

  /** After a removal: paths, names and legends follow the items' new positions. */
  renumber(state) {
    const label = state.options.label || humanize(state.key);
    state.entries.forEach((entry, index) => {
      entry.box.querySelector(":scope > legend").textContent = `${label} ${index + 1}`;
      entry.box.querySelector(":scope > button.remove").textContent = `Remove ${label.toLowerCase()} ${index + 1}`;
      for (const c of entry.controls) {
        c.path[state.path.length] = index;
        c.el.name = c.path.join(".");
        c.el.dataset.path = c.path.map(keyPart).join(".");
        c.el.closest(".field").dataset.field = c.el.dataset.path;
      }
    });
  }

  /** The document to send: the original with the form's values over it. Throws {fieldErrors}. */
  collect() {
    const doc = JSON.parse(JSON.stringify(this.original));
    delete doc.id;
    const local = {};
    for (const state of this.groups) setPath(doc, state.path, state.entries.map((e) => {
      const base = JSON.parse(JSON.stringify(e.values || {}));
      return base;
    }));
    for (const c of this.controls) {
      const raw = c.el.value;
      let value;
      let keep = true;
      if (c.kind === "boolean") {
        value = c.el.checked;
        keep = value || c.present || c.prop.default !== undefined;
      } else if (c.kind === "integer") {
        keep = raw.trim() !== "";
        value = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim();
      } else if (c.kind === "lines") {
        value = raw.split("\n").map((s) => s.trim()).filter(Boolean);
        keep = value.length > 0 || c.present || c.prop.default !== undefined;
      } else if (c.kind === "json") {
        keep = raw.trim() !== "";
        if (keep) {
          try {
            value = JSON.parse(raw);
          } catch (e) {
            local[c.el.dataset.path] = { invalid_json: { message: `Not valid JSON: ${e.message}` } };
          }
        }
      } else {
        value = raw;
        keep = raw !== "";
      }
      if (keep) setPath(doc, c.path, value);
      else deletePath(doc, c.path);
    }
    if (Object.keys(local).length) {
      const err = new Error("Some fields are not valid");
      err.fieldErrors = local;
      throw err;
    }
    return doc;
  }

  clearErrors() {
    for (const c of this.controls) { clear(c.errorsEl); c.el.removeAttribute("aria-invalid"); }
    for (const g of this.groups) clear(g.errorsEl);
  }

  /** Kazoo's 400 data {"gateways.0.server": {"required": {"message": …}}}: returns the keys no field took. */
  showErrors(data) {
    this.clearErrors();
    const unplaced = {};
    for (const [key, codes] of Object.entries(data || {})) {
      const messages = typeof codes === "object" && codes !== null
        ? Object.entries(codes).map(([code, d]) => `${code}: ${d && d.message ? d.message : JSON.stringify(d)}`)
        : [String(codes)];
      // the field itself, else the closest field above it (a key inside a JSON field)
      const exact = this.controls.find((c) => c.el.dataset.path === key);
      const control = exact || this.controls
        .filter((c) => key.startsWith(`${c.el.dataset.path}.`))
        .sort((a, b) => b.el.dataset.path.length - a.el.dataset.path.length)[0];
      const group = control ? null : this.groups.find((g) => g.path.map(keyPart).join(".") === key);
      const target = control ? control.errorsEl : group ? group.errorsEl : null;
      if (!target) { unplaced[key] = messages; continue; }
      const where = exact || !control ? "" : `${key.slice(control.el.dataset.path.length + 1)}: `;
      const text = where + messages.join("; ");
      target.textContent = target.textContent ? `${target.textContent}; ${text}` : text;
      if (control) control.el.setAttribute("aria-invalid", "true");
    }
    const firstBad = this.controls.find((c) => c.el.getAttribute("aria-invalid") === "true");
    if (firstBad) {
      const details = firstBad.el.closest("details");
      if (details) details.open = true;
      firstBad.el.focus();
    }
    return unplaced;
  }
}

function setPath(obj, path, value) {
  let node = obj;
  for (let i = 0; i < path.length - 1; i += 1) {
    const k = path[i];
    if (node[k] === undefined || node[k] === null || typeof node[k] !== "object") node[k] = typeof path[i + 1] === "number" ? [] : {};
    node = node[k];
  }
  node[path[path.length - 1]] = value;
}

function deletePath(obj, path) {
  let node = obj;
  for (let i = 0; i < path.length - 1; i += 1) {
    node = node?.[path[i]];
    if (node === undefined || node === null) return;
  }
  if (node && typeof node === "object") delete node[path[path.length - 1]];
}
