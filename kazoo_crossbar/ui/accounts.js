// The token's account and its descendants as a tree, with a search over names, realms and ids;
// picking one makes it the account the other screens work on.
import { api, listAll } from "./api.js";
import { field, h, matchesQuery, naturalCompare } from "./dom.js";

export function buildTree(root, descendants) {
  const nodes = new Map([[root.id, { ...root, children: [] }]]);
  for (const row of descendants) nodes.set(row.id, { ...row, children: [] });
  for (const row of descendants) {
    const tree = Array.isArray(row.tree) ? row.tree : [];
    const parent = nodes.get(tree[tree.length - 1]) || nodes.get(root.id);
    parent.children.push(nodes.get(row.id));
  }
  for (const node of nodes.values()) node.children.sort((a, b) => naturalCompare(a.name, b.name));
  return nodes.get(root.id);
}

export async function renderAccounts(ctx) {
  const rootId = ctx.session.account_id;
  const [account, descendants] = await Promise.all([
    api("GET", `/accounts/${rootId}`), listAll(`/accounts/${rootId}/descendants`)]);
  const tree = buildTree({ id: rootId, name: account.data.name, realm: account.data.realm }, descendants);

  const search = h("input", { type: "search", name: "account_search", id: "account-search", autocomplete: "off",
    placeholder: "name, realm or id" });
  const list = h("ul", { class: "account-tree", id: "account-tree" });
  const count = h("p", { class: "hint", id: "account-count", "aria-live": "polite" });

  function item(node, query) {
    const selected = node.id === ctx.account.id;
    const self = matchesQuery(query, node.name, node.realm, node.id);
    const children = node.children.map((c) => item(c, query)).filter(Boolean);
    if (!self && !children.length) return null; // neither it nor anything under it matches
    if (self && query) count.matches += 1;
    const button = h("button", { type: "button", class: "account-pick", "aria-pressed": String(selected),
      text: node.name || node.id, onclick: () => { ctx.select({ id: node.id, name: node.name || node.id }); location.hash = "#/carriers"; } });
    const meta = h("span", { class: "meta", text: `${node.realm || ""} · ${node.id}` });
    const li = h("li", { dataset: { accountId: node.id }, class: self ? null : "no-match" }, button, " ", meta);
    if (children.length) li.append(h("ul", {}, children));
    return li;
  }

  function show() {
    const query = search.value.trim();
    count.matches = 0;
    const root = item(tree, query);
    list.replaceChildren(...(root ? [root] : []));
    count.textContent = query ? `${count.matches} account(s) match "${query}".` : "";
  }
  search.addEventListener("input", show);

  ctx.main.replaceChildren(h("section", { "aria-labelledby": "accounts-title" },
    h("h2", { id: "accounts-title", text: "Accounts" }),
    h("p", { text: `Your account and its ${descendants.length} descendant account(s). Pick one to work on its carriers, numbers and jobs.` }),
    h("div", { class: "list-tools" }, field("Search accounts", search)), count, list));
  show();
}
