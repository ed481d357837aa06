// The system_config values the console follows: crossbar.resources (job_max_numbers, the recovery
// loop) and number_manager (how a number file is read). A super-duper admin reads the live values
// through the public API; everyone else gets Kazoo's defaults from defaults.json, which the
// service builds at start from its system_config/ folder (so the console repeats no default).
import { api, unlessExpired } from "./api.js";
import { compileRules } from "./numberfile.js";

let shipped = null;
/** {"crossbar.resources": {...}, "number_manager": {...}}: the defaults the service ships. */
export async function shippedDefaults() {
  if (!shipped) {
    shipped = fetch("defaults.json", { headers: { Accept: "application/json" } })
      .then((resp) => (resp.ok ? resp.json() : {}))
      .catch(() => ({}));
  }
  return shipped;
}

async function liveConfig(ctx, category) {
  if (!ctx.superduper) return null;
  return api("GET", `/system_configs/${category}`)
    .then((body) => (body.data && body.data.default) || {})
    .catch(unlessExpired(null));
}

/** The first of `keys` holding an integer, else null. */
export function intSetting(section, ...keys) {
  for (const key of keys) {
    const v = section ? section[key] : undefined;
    if (v !== null && v !== undefined && v !== "" && Number.isInteger(Number(v))) return Number(v);
  }
  return null;
}

const DEFAULTS_SOURCE = "Kazoo's defaults: system_configs are readable by a super-duper admin only";

let cached = null;
export async function jobSettings(ctx) {
  if (cached && cached.account === ctx.session.account_id) return cached.value;
  const defaults = (await shippedDefaults())["crossbar.resources"] || {};
  const live = await liveConfig(ctx, "crossbar.resources");
  const pick = (...keys) => intSetting(live, ...keys) ?? intSetting(defaults, ...keys);
  const value = {
    job_max_numbers: pick("job_max_numbers"), // null: unknown, learned from the service's 400
    // Kazoo's own key names win when an operator set them
    job_recover_threshold_s: pick("job_recovery_threshold_s", "job_recover_threshold_s"),
    job_recover_timeout_s: pick("job_recovery_timeout_s", "job_recover_timeout_s"),
    source: live ? "system_config crossbar.resources" : DEFAULTS_SOURCE,
    defaults: !live,
  };
  cached = { account: ctx.session.account_id, value };
  return value;
}

let rulesCache = null;
/** number_manager's e164_converters and reconcile_regex, compiled, with where they came from. */
export async function numberRules(ctx) {
  if (rulesCache && rulesCache.account === ctx.session.account_id) return rulesCache.value;
  const defaults = (await shippedDefaults()).number_manager || {};
  const live = await liveConfig(ctx, "number_manager");
  let value = null;
  if (live && (live.e164_converters || live.reconcile_regex)) {
    try {
      value = { rules: compileRules({ ...defaults, ...live }), source: "system_config number_manager" };
    } catch (_) {
      value = null; // a regex JavaScript cannot compile: the defaults, and the server judges again
    }
  }
  if (!value) value = { rules: compileRules(defaults), source: "Kazoo's default number_manager rules" };
  rulesCache = { account: ctx.session.account_id, value };
  return value;
}
