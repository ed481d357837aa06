// Carriers (resources) of the chosen account, or the global ones (super-duper admin), at the sizes
// operators have (hundreds): the listing is read through the API's pages (page_size/start_key),
// searched and sorted naturally here, and shown a page at a time; only the shown page's carriers
// are read in full (gateway servers, rules). Enable/disable in place (disabling asks first), a
// create form above the table, the edit form right under its row, delete.
import { api, schemas } from "./api.js";
import { append, errorBox, field, h, matchesQuery, naturalCompare } from "./dom.js";
import { SchemaForm } from "./schemaform.js";

const FORM_OPTIONS = {
  primary: ["name", "enabled", "weight_cost", "rules", "gateways", "flags", "emergency", "gateway_strategy"],
  items: { gateways: { label: "Gateway", primary: ["server", "port", "enabled", "username", "password", "realm", "prefix", "suffix", "invite_format"] } },
};
export const API_PAGE_SIZE = 100; // rows per listing request
export const SHOWN_PER_PAGE = 50; // rows per page of the table
const FETCH_AT_ONCE = 6; // full documents read in parallel

export function basePath(ctx, global) {
  return global ? "/resources" : `/accounts/${ctx.account.id}/resources`;
}

/** Every row of the listing, a page of the API at a time (each page's next_start_key). */
export async function loadListing(base, onPage = () => {}) {
  const rows = [];
  let startKey;
  for (let page = 0; page < 10000; page += 1) {
    const query = { page_size: String(API_PAGE_SIZE) };
    if (startKey !== undefined) query.start_key = startKey;
    const body = await api("GET", base, undefined, { query });
    rows.push(...(Array.isArray(body.data) ? body.data : []));
    onPage(rows.length);
    if (!body.next_start_key) break;
    startKey = body.next_start_key;
  }
  return rows;
}

const SORTS = {
  name: (a, b) => naturalCompare(a.name ?? a.id, b.name ?? b.id) || naturalCompare(a.id, b.id),
  weight: (a, b) => (Number(a.weight_cost ?? 50) - Number(b.weight_cost ?? 50)) || SORTS.name(a, b),
  enabled: (a, b) => (Number(b.enabled !== false) - Number(a.enabled !== false)) || SORTS.name(a, b),
};

export function servers(doc) {
  return Array.isArray(doc.gateways) ? doc.gateways.map((g) => (g && typeof g.server === "string" ? g.server : "")).filter(Boolean) : [];
}

export async function renderCarriers(ctx, { global = false } = {}) {
  const title = global ? "Global carriers" : `Carriers of ${ctx.account.name}`;
  const view = new CarriersView(basePath(ctx, global), title, screen(ctx, title, global));
  await view.load();
}

/** The carriers screen's state and its steps: load, show (search, sort, page), change. */
class CarriersView {
  constructor(base, title, ui) {
    this.base = base;
    this.title = title;
    this.ui = ui;
    this.rows = [];
    this.docs = new Map();
    this.sort = "name";
    this.dir = 1;
    this.page = 0;
    ui.newButton.addEventListener("click", () => this.openForm(null));
    ui.search.addEventListener("input", () => { this.page = 0; this.show(); });
  }

  async load() {
    const loading = (n) => this.ui.tableBox.replaceChildren(h("p", { id: "carriers-loading", text: `Loading carriers… ${n || ""}` }));
    loading(0);
    this.rows = await loadListing(this.base, loading);
    this.show();
  }

  // --- the rows to show: searched, sorted, one page ---------------------------------------------
  visible() {
    const query = this.ui.search.value;
    const found = this.rows.filter((r) => matchesQuery(query, r.name, r.id));
    found.sort((a, b) => this.dir * SORTS[this.sort](a, b));
    const pages = Math.max(1, Math.ceil(found.length / SHOWN_PER_PAGE));
    this.page = Math.min(this.page, pages - 1);
    return { found, pages, page: found.slice(this.page * SHOWN_PER_PAGE, (this.page + 1) * SHOWN_PER_PAGE) };
  }

  show() {
    const { found, pages, page } = this.visible();
    this.ui.pager.replaceChildren(...this.pager(found.length, pages));
    if (!this.rows.length) return this.ui.tableBox.replaceChildren(h("p", { class: "empty", text: "No carriers yet." }));
    if (!found.length) return this.ui.tableBox.replaceChildren(h("p", { class: "empty", text: "No carrier matches the search." }));
    this.ui.tableBox.replaceChildren(this.table(page));
    return this.fetchDocs(page.filter((r) => !this.docs.has(r.id)));
  }

  pager(total, pages) {
    const from = total ? this.page * SHOWN_PER_PAGE + 1 : 0;
    const to = Math.min(total, (this.page + 1) * SHOWN_PER_PAGE);
    const go = (delta) => { this.page += delta; this.show(); };
    const of = total < this.rows.length ? ` (of ${this.rows.length})` : "";
    return [h("span", { id: "carriers-range", text: `${from}–${to} of ${total} carrier(s)${of}` }),
      h("button", { type: "button", text: "Previous page", disabled: this.page === 0, onclick: () => go(-1) }),
      h("button", { type: "button", text: "Next page", disabled: this.page >= pages - 1, onclick: () => go(1) })];
  }

  // --- the full documents of the shown rows, a few at a time -----------------------------------
  async fetchDocs(rows) {
    const queue = [...rows];
    const worker = async () => {
      while (queue.length) {
        const row = queue.shift();
        if (this.docs.has(row.id)) continue; // read meanwhile (an edit opened before its turn)
        try {
          this.docs.set(row.id, (await api("GET", `${this.base}/${encodeURIComponent(row.id)}`)).data);
        } catch (_) {
          this.docs.set(row.id, row); // gone meanwhile or unreadable: the listing's fields
        }
        const tr = this.ui.tableBox.querySelector(`tr[data-id="${CSS.escape(row.id)}"]`);
        if (tr) tr.replaceWith(this.carrierRow(this.docs.get(row.id)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_AT_ONCE, queue.length) }, worker));
  }

  /** The stored document of a listed carrier (kept in `docs`); null, with the error shown, when it cannot be read. */
  async fetchDoc(listed) {
    try {
      const doc = (await api("GET", `${this.base}/${encodeURIComponent(listed.id)}`)).data;
      this.docs.set(listed.id, doc);
      return doc;
    } catch (err) {
      this.ui.status.replaceChildren(errorBox(err, `Could not open ${listed.name ?? listed.id}:`));
      return null;
    }
  }

  // --- the table ----------------------------------------------------------------------------------
  table(page) {
    const sortable = (key, text) => h("th", { scope: "col", "aria-sort": this.sort === key ? (this.dir > 0 ? "ascending" : "descending") : "none" },
      h("button", { type: "button", class: "sort", text, onclick: () => {
        this.dir = this.sort === key ? -this.dir : 1;
        this.sort = key;
        this.show();
      } }));
    return h("table", { class: "carriers", id: "carriers-table" },
      h("caption", { class: "sr-only", text: this.title }),
      h("thead", {}, h("tr", {}, sortable("name", "Name"), sortable("enabled", "Enabled"), sortable("weight", "Weight"),
        ["Gateways", "Gateway servers", "Rules", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, page.map((r) => this.carrierRow(this.docs.get(r.id) || r))));
  }

  carrierRow(doc) {
    const enabled = doc.enabled !== false;
    const full = this.docs.has(doc.id);
    const toggle = h("button", { type: "button", class: "toggle", "aria-pressed": String(enabled),
      "aria-label": `${enabled ? "Disable" : "Enable"} ${doc.name}`, text: enabled ? "Enabled" : "Disabled",
      onclick: () => this.setEnabled(doc, !enabled, toggle) });
    const list = (items) => (!full ? "…" : items.length ? h("ul", {}, items.map((x) => h("li", {}, h("code", { text: x })))) : "—");
    return h("tr", { dataset: { id: doc.id } },
      h("th", { scope: "row", class: "name", text: doc.name ?? doc.id }),
      h("td", { "data-label": "Enabled" }, toggle),
      h("td", { class: "num", "data-label": "Weight", text: doc.weight_cost ?? "" }),
      h("td", { class: "num gateways", "data-label": "Gateways", text: !full ? "…" : Array.isArray(doc.gateways) ? doc.gateways.length : "" }),
      h("td", { class: "servers", "data-label": "Gateway servers" }, list(servers(doc))),
      h("td", { class: "rules", "data-label": "Rules" }, list(Array.isArray(doc.rules) ? doc.rules : [])),
      h("td", { class: "actions" },
        h("button", { type: "button", text: "Edit", "aria-label": `Edit ${doc.name}`, onclick: (ev) => this.openForm(doc, ev.target.closest("tr")) }), " ",
        h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${doc.name}`, onclick: () => this.remove(doc) })));
  }

  // --- changes ------------------------------------------------------------------------------------
  stored(doc) {
    this.docs.set(doc.id, doc);
    const row = { id: doc.id, name: doc.name, enabled: doc.enabled, weight_cost: doc.weight_cost };
    const i = this.rows.findIndex((r) => r.id === doc.id);
    if (i >= 0) this.rows[i] = row;
    else this.rows.push(row);
  }

  async setEnabled(doc, enable, toggle) {
    if (!enable && !window.confirm(`Disable the carrier "${doc.name}"? Calls stop using it until it is enabled again.`)) return;
    toggle.disabled = true;
    this.ui.status.replaceChildren();
    try {
      const body = await api("PATCH", `${this.base}/${encodeURIComponent(doc.id)}`, { enabled: enable });
      this.stored(body.data);
      toggle.closest("tr").replaceWith(this.carrierRow(body.data));
    } catch (err) {
      this.ui.status.append(errorBox(err, `Could not change ${doc.name}:`));
      toggle.disabled = false;
    }
  }

  async remove(doc) {
    if (!window.confirm(`Delete the carrier "${doc.name}"? Calls will no longer use it.`)) return;
    this.ui.status.replaceChildren();
    try {
      await api("DELETE", `${this.base}/${encodeURIComponent(doc.id)}`);
      this.rows = this.rows.filter((r) => r.id !== doc.id);
      this.docs.delete(doc.id);
      this.ui.status.append(h("p", { class: "ok", role: "status", text: `Deleted ${doc.name}.` }));
      this.show();
    } catch (err) {
      this.ui.status.append(errorBox(err, `Could not delete ${doc.name}:`));
    }
  }

  /** The create form above the table (row null), or the edit form right under the carrier's row. */
  async openForm(listed, row = null) {
    this.closeForms();
    // Edit the stored document, never the listing's few fields: a POST replaces the public
    // fields, so a form opened from a row whose document had not arrived yet would drop gateways.
    const doc = listed && !this.docs.has(listed.id) ? await this.fetchDoc(listed) : listed && this.docs.get(listed.id);
    if (listed && !doc) return;
    const form = await carrierForm(doc, {
      saved: (saved) => {
        this.closeForms();
        this.stored(saved);
        this.ui.status.replaceChildren(h("p", { class: "ok", role: "status", text: `Saved ${saved.name}.` }));
        this.show();
      },
      cancel: () => { this.closeForms(); (row ? row.querySelector("button") : this.ui.newButton).focus(); },
      send: (data) => (doc ? api("POST", `${this.base}/${encodeURIComponent(doc.id)}`, data) : api("PUT", this.base, data)),
    });
    // the row may have been redrawn while the document was read: find it again by id
    if (row) row = this.ui.tableBox.querySelector(`tr[data-id="${CSS.escape(doc.id)}"]`);
    if (row) row.after(h("tr", { class: "edit-row", dataset: { editing: doc.id } }, h("td", { colspan: String(row.children.length) }, form)));
    else this.ui.formBox.replaceChildren(form);
    form.scrollIntoView({ block: "nearest" });
    form.querySelector("input, select, textarea").focus();
  }

  closeForms() {
    this.ui.formBox.replaceChildren();
    for (const tr of this.ui.tableBox.querySelectorAll("tr.edit-row")) tr.remove();
  }
}

/** The page's frame: title, tools (new, search), status, pager, the create form's place, the table. */
function screen(ctx, title, global) {
  const ui = {
    status: h("div", { class: "status", "aria-live": "polite" }),
    tableBox: h("div", { class: "table-wrap" }),
    formBox: h("div", { class: "form-box" }),
    pager: h("div", { class: "pager", id: "carriers-pager", "aria-live": "polite" }),
    newButton: h("button", { type: "button", text: "New carrier" }),
    search: h("input", { type: "search", name: "carrier_search", id: "carrier-search", autocomplete: "off", placeholder: "name or id" }),
  };
  ctx.main.replaceChildren(h("section", { "aria-labelledby": "carriers-title" },
    h("h2", { id: "carriers-title", text: title }),
    global ? h("p", { text: "Offnet resources shared by every account (stored in the offnet database)." }) : null,
    h("div", { class: "list-tools" }, ui.newButton, field("Search carriers", ui.search)),
    ui.status, ui.formBox, ui.pager, ui.tableBox));
  return ui;
}

/** The create/edit form, generated from the schema; the API's 400 errors go next to their fields. */
async function carrierForm(doc, { saved, cancel, send }) {
  const all = await schemas();
  const form = new SchemaForm(all, "resources", FORM_OPTIONS);
  const formStatus = h("div", { class: "form-status", "aria-live": "polite" });
  const heading = doc ? `Edit ${doc.name}` : "New carrier";
  const el = h("form", { class: "card carrier-form", "aria-label": heading, novalidate: true },
    h("h3", { text: heading }), form.render(doc || { gateways: [{}] }), formStatus,
    h("div", { class: "toolbar" },
      h("button", { type: "submit", text: doc ? "Save changes" : "Create carrier" }), " ",
      h("button", { type: "button", text: "Cancel", onclick: cancel })));
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formStatus.replaceChildren();
    let data;
    try {
      data = form.collect();
    } catch (err) {
      form.showErrors(err.fieldErrors);
      formStatus.append(h("p", { class: "error", role: "alert", text: err.message }));
      return;
    }
    try {
      saved((await send(data)).data);
    } catch (err) {
      const unplaced = err.status === 400 ? form.showErrors(err.data) : err.data;
      const box = errorBox(err, "Not saved:");
      if (unplaced && typeof unplaced === "object" && Object.keys(unplaced).length) {
        append(box, h("ul", {}, Object.entries(unplaced).map(([k, v]) => h("li", { text: `${k}: ${Array.isArray(v) ? v.join("; ") : JSON.stringify(v)}` }))));
      }
      formStatus.append(box);
    }
  });
  return el;
}
