// The login screen: an API key (api_auth) or username + password + account name (user_auth).
import { api, saveSession } from "./api.js";
import { errorBox, field, h } from "./dom.js";
import { sha1Hex } from "./sha1.js";

/** What a failed login means, in words (the API's answer follows it). */
function loginFailure(noun, err) {
  if (noun === "api_auth" && (err.status === 404 || err.status === 401)) return "Login failed: no account has this API key.";
  if (noun === "user_auth" && err.status === 401) return "Login failed: wrong username, password or account name.";
  return "Login failed:";
}

/** The error as shown, with the key (or the credentials) taken out of anything the server said. */
function withoutSecret(err, secret) {
  if (!secret || !err || typeof err.message !== "string") return err;
  const shown = Object.create(Object.getPrototypeOf(err));
  Object.assign(shown, err, { message: err.message.split(secret).join("***"), data: undefined });
  return shown;
}

export function renderLogin(main, { message, onLoggedIn }) {
  const status = h("div", { class: "login-status", "aria-live": "polite" });
  if (message) status.append(h("p", { class: "notice", role: "status", text: message }));

  const apiKey = h("input", { name: "api_key", type: "password", autocomplete: "off", required: true });
  const keyForm = h("form", { class: "card", "aria-labelledby": "login-key-title" },
    h("h2", { id: "login-key-title", text: "Log in with an API key" }),
    field("API key", apiKey, "The account's api_key (64 hex characters)"),
    h("button", { type: "submit", text: "Log in with API key" }));

  const username = h("input", { name: "username", type: "text", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const accountName = h("input", { name: "account_name", type: "text", autocomplete: "organization", required: true });
  const userForm = h("form", { class: "card", "aria-labelledby": "login-user-title" },
    h("h2", { id: "login-user-title", text: "Log in as a user" }),
    field("Username", username), field("Password", password), field("Account name", accountName),
    h("button", { type: "submit", text: "Log in" }));

  async function login(form, noun, data, secret) {
    form.querySelector("button").disabled = true;
    status.replaceChildren();
    try {
      const body = await api("PUT", `/${noun}`, data);
      saveSession({ token: body.auth_token, account_id: body.data.account_id,
        account_name: body.data.account_name, owner_id: body.data.owner_id || null });
      await onLoggedIn();
    } catch (err) {
      status.append(errorBox(withoutSecret(err, secret), loginFailure(noun, err)));
    } finally {
      form.querySelector("button").disabled = false;
    }
  }
  keyForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    login(keyForm, "api_auth", { api_key: apiKey.value.trim() }, apiKey.value.trim());
  });
  userForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const credentials = sha1Hex(`${username.value.trim().toLowerCase()}:${password.value}`);
    login(userForm, "user_auth", { credentials, method: "sha", account_name: accountName.value.trim() }, credentials);
  });

  main.replaceChildren(h("section", { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Carriers console" }), status,
    h("div", { class: "login-forms" }, keyForm, userForm)));
  apiKey.focus();
}
