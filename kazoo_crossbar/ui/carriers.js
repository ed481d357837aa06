// Carriers (resources) of the chosen account, or the global ones (super-duper admin): a table
// with enable/disable in place, a create/edit form generated from the schema, delete.
import { api, listAll, schemas } from "./api.js";
import { append, errorBox, h } from "./dom.js";
import { SchemaForm } from "./schemaform.js";

const FORM_OPTIONS = {
  primary: ["name", "enabled", "weight_cost", "rules", "gateways", "flags", "emergency", "gateway_strategy"],
  items: { gateways: { label: "Gateway", primary: ["server", "port", "enabled", "username", "password", "realm", "prefix", "suffix", "invite_format"] } },
};

export function basePath(ctx, global) {
  return global ? "/resources" : `/accounts/${ctx.account.id}/resources`;
}

/** The carriers with their full documents (the listing has no gateways or rules). */
export async function loadCarriers(ctx, global) {
  const base = basePath(ctx, global);
  const rows = await listAll(base);
  const docs = await Promise.all(rows.map(async (row) => {
    try {
      return (await api("GET", `${base}/${encodeURIComponent(row.id)}`)).data;
    } catch (_) {
      return row;
    }
  }));
  return docs.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export async function renderCarriers(ctx, { global = false } = {}) {
  const base = basePath(ctx, global);
  const title = global ? "Global carriers" : `Carriers of ${ctx.account.name}`;
  const status = h("div", { class: "status", "aria-live": "polite" });
  const tableBox = h("div", { class: "table-wrap" });
  const formBox = h("div", { class: "form-box" });
  const newButton = h("button", { type: "button", text: "New carrier", onclick: () => openForm(null) });
  ctx.main.replaceChildren(h("section", { "aria-labelledby": "carriers-title" },
    h("h2", { id: "carriers-title", text: title }),
    global ? h("p", { text: "Offnet resources shared by every account (stored in the offnet database)." }) : null,
    h("div", { class: "toolbar" }, newButton), status, tableBox, formBox));

  async function refresh() {
    const docs = await loadCarriers(ctx, global);
    tableBox.replaceChildren(table(docs));
  }

  function table(docs) {
    if (!docs.length) return h("p", { class: "empty", text: "No carriers yet." });
    return h("table", { class: "carriers", id: "carriers-table" },
      h("caption", { class: "sr-only", text: title }),
      h("thead", {}, h("tr", {}, ["Name", "Enabled", "Weight", "Gateways", "Rules", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, docs.map(row)));
  }

  function row(doc) {
    const enabled = doc.enabled !== false;
    const toggle = h("button", { type: "button", class: "toggle", "aria-pressed": String(enabled),
      "aria-label": `${enabled ? "Disable" : "Enable"} ${doc.name}`, text: enabled ? "Enabled" : "Disabled" });
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      status.replaceChildren();
      try {
        const body = await api("PATCH", `${base}/${encodeURIComponent(doc.id)}`, { enabled: !enabled });
        tr.replaceWith(row(body.data));
      } catch (err) {
        status.append(errorBox(err, `Could not change ${doc.name}:`));
        toggle.disabled = false;
      }
    });
    const rules = Array.isArray(doc.rules) ? doc.rules : [];
    const tr = h("tr", { dataset: { id: doc.id } },
      h("th", { scope: "row", class: "name", text: doc.name ?? doc.id }),
      h("td", { "data-label": "Enabled" }, toggle),
      h("td", { class: "num", "data-label": "Weight", text: doc.weight_cost ?? "" }),
      h("td", { class: "num gateways", "data-label": "Gateways", text: Array.isArray(doc.gateways) ? doc.gateways.length : "" }),
      h("td", { class: "rules", "data-label": "Rules" }, rules.length ? h("ul", {}, rules.map((r) => h("li", {}, h("code", { text: r })))) : "—"),
      h("td", { class: "actions" },
        h("button", { type: "button", text: "Edit", "aria-label": `Edit ${doc.name}`, onclick: () => openForm(doc) }), " ",
        h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${doc.name}`, onclick: () => remove(doc) })));
    return tr;
  }

  async function remove(doc) {
    if (!window.confirm(`Delete the carrier "${doc.name}"? Calls will no longer use it.`)) return;
    status.replaceChildren();
    try {
      await api("DELETE", `${base}/${encodeURIComponent(doc.id)}`);
      status.append(h("p", { class: "ok", role: "status", text: `Deleted ${doc.name}.` }));
      await refresh();
    } catch (err) {
      status.append(errorBox(err, `Could not delete ${doc.name}:`));
    }
  }

  async function openForm(doc) {
    const all = await schemas();
    const form = new SchemaForm(all, "resources", FORM_OPTIONS);
    const formStatus = h("div", { class: "form-status", "aria-live": "polite" });
    const heading = doc ? `Edit ${doc.name}` : "New carrier";
    const el = h("form", { class: "card carrier-form", "aria-label": heading, novalidate: true },
      h("h3", { text: heading }), form.render(doc || { gateways: [{}] }), formStatus,
      h("div", { class: "toolbar" },
        h("button", { type: "submit", text: doc ? "Save changes" : "Create carrier" }), " ",
        h("button", { type: "button", text: "Cancel", onclick: () => { formBox.replaceChildren(); newButton.focus(); } })));
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
        const body = doc
          ? await api("POST", `${base}/${encodeURIComponent(doc.id)}`, data)
          : await api("PUT", base, data);
        formBox.replaceChildren();
        status.replaceChildren(h("p", { class: "ok", role: "status", text: `Saved ${body.data.name}.` }));
        await refresh();
      } catch (err) {
        const unplaced = err.status === 400 ? form.showErrors(err.data) : err.data;
        const box = errorBox(err, "Not saved:");
        if (unplaced && typeof unplaced === "object" && Object.keys(unplaced).length) {
          append(box, h("ul", {}, Object.entries(unplaced).map(([k, v]) => h("li", { text: `${k}: ${Array.isArray(v) ? v.join("; ") : JSON.stringify(v)}` }))));
        }
        formStatus.append(box);
      }
    });
    formBox.replaceChildren(el);
    el.querySelector("input, select, textarea").focus();
  }

  await refresh();
}
