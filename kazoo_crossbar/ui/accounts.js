// The token's account and its descendants as a tree; picking one makes it the account the
// other screens work on.
import { api, listAll } from "./api.js";
import { h } from "./dom.js";

export function buildTree(root, descendants) {
  const nodes = new Map([[root.id, { ...root, children: [] }]]);
  for (const row of descendants) nodes.set(row.id, { ...row, children: [] });
  for (const row of descendants) {
    const tree = Array.isArray(row.tree) ? row.tree : [];
    const parent = nodes.get(tree[tree.length - 1]) || nodes.get(root.id);
    parent.children.push(nodes.get(row.id));
  }
  for (const node of nodes.values()) node.children.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return nodes.get(root.id);
}

export async function renderAccounts(ctx) {
  const rootId = ctx.session.account_id;
  const [account, descendants] = await Promise.all([
    api("GET", `/accounts/${rootId}`), listAll(`/accounts/${rootId}/descendants`)]);
  const tree = buildTree({ id: rootId, name: account.data.name, realm: account.data.realm }, descendants);

  function item(node) {
    const selected = node.id === ctx.account.id;
    const button = h("button", { type: "button", class: "account-pick", "aria-pressed": String(selected),
      text: node.name || node.id, onclick: () => { ctx.select({ id: node.id, name: node.name || node.id }); location.hash = "#/carriers"; } });
    const meta = h("span", { class: "meta", text: `${node.realm || ""} · ${node.id}` });
    const li = h("li", { dataset: { accountId: node.id } }, button, " ", meta);
    if (node.children.length) li.append(h("ul", {}, node.children.map(item)));
    return li;
  }

  ctx.main.replaceChildren(h("section", { "aria-labelledby": "accounts-title" },
    h("h2", { id: "accounts-title", text: "Accounts" }),
    h("p", { text: `Your account and its ${descendants.length} descendant account(s). Pick one to work on its carriers, numbers and jobs.` }),
    h("ul", { class: "account-tree", id: "account-tree" }, item(tree))));
}
