// The console's shell: login or the screens, chosen by the location hash (#/carriers, #/jobs/ID…).
import { api, clearSession, getSession, onExpired, updateSession } from "./api.js";
import { errorBox, h } from "./dom.js";
import { renderAccounts } from "./accounts.js";
import { renderBulk } from "./bulk.js";
import { renderCarriers } from "./carriers.js";
import { renderJob, renderJobs } from "./jobs.js";
import { renderLogin } from "./login.js";

const main = document.getElementById("main");
const top = document.getElementById("top");
const who = document.getElementById("who");
const SCREENS = { accounts: renderAccounts, carriers: renderCarriers, global: renderCarriers, bulk: renderBulk, jobs: renderJobs };
let pollers = [];

/** What every screen is given: the session, the chosen account, helpers. */
function context() {
  const session = getSession();
  return {
    session,
    account: { id: session.selected_id || session.account_id, name: session.selected_name || session.account_name },
    superduper: session.superduper === true,
    main,
    // timers a screen starts are stopped when another screen is shown
    every(ms, fn) { const t = setInterval(fn, ms); pollers.push(t); return t; },
    select(account) {
      updateSession({ selected_id: account.id, selected_name: account.name });
      showWho();
    },
  };
}

function stopPollers() {
  pollers.forEach((t) => clearInterval(t));
  pollers = [];
}

function showWho() {
  const session = getSession();
  if (!session) return;
  const selected = session.selected_name || session.account_name || "";
  who.replaceChildren("Logged in to ", h("strong", { text: session.account_name || session.account_id }),
    " · working on ", h("strong", { id: "current-account", text: selected }));
  document.getElementById("nav-global").hidden = session.superduper !== true;
}

function showLogin(message) {
  stopPollers();
  top.hidden = true;
  document.title = "Log in · Carriers console";
  renderLogin(main, { message, onLoggedIn: afterLogin });
}

async function afterLogin() {
  const session = getSession();
  try {
    const body = await api("GET", `/accounts/${session.account_id}`);
    updateSession({ superduper: body.data.superduper_admin === true, selected_id: session.account_id,
      selected_name: body.data.name || session.account_name });
  } catch (err) {
    if (!getSession()) return; // a 401: the login is back already
    updateSession({ superduper: false });
  }
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/carriers";
  else route();
}

async function route() {
  stopPollers();
  const session = getSession();
  if (!session || !session.token) return showLogin();
  top.hidden = false;
  showWho();
  const [screen = "carriers", ...rest] = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.screen === screen) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const ctx = context();
  const title = { accounts: "Accounts", carriers: "Carriers", global: "Global carriers", bulk: "Bulk numbers", jobs: "Jobs" };
  document.title = `${title[screen] || "Carriers"} · Carriers console`;
  main.replaceChildren(h("p", { text: "Loading…" }));
  try {
    if (screen === "jobs" && rest.length) await renderJob(ctx, decodeURIComponent(rest[0]));
    else if (screen === "global") await renderCarriers(ctx, { global: true });
    else await (SCREENS[screen] || renderCarriers)(ctx, {});
  } catch (err) {
    if (!getSession()) return;
    main.replaceChildren(errorBox(err, "Could not load this screen:"));
  }
}

onExpired(() => showLogin("Your session has expired or is no longer valid. Please log in again."));
document.getElementById("logout").addEventListener("click", () => {
  clearSession();
  history.replaceState(null, "", location.pathname); // no hashchange: the message stays
  showLogin("You are logged out.");
});
window.addEventListener("hashchange", route);
route();
