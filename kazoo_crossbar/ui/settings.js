// The system_config values the console follows (crossbar.resources), read through the public
// API. Only a super-duper admin may read system_configs; everyone else sees Kazoo's defaults.
import { api } from "./api.js";

export const DEFAULTS = { job_max_numbers: 10000, job_recover_threshold_s: 3600, job_recover_timeout_s: 21600 };

let cached = null;
export async function jobSettings(ctx) {
  if (cached && cached.account === ctx.session.account_id) return cached.value;
  let value = { ...DEFAULTS, source: "defaults (system_configs are readable by a super-duper admin only)" };
  if (ctx.superduper) {
    try {
      const body = await api("GET", "/system_configs/crossbar.resources");
      const d = (body.data && body.data.default) || {};
      const int = (...keys) => keys.map((k) => d[k]).find((v) => Number.isInteger(Number(v)) && v !== null && v !== "" && v !== undefined);
      value = {
        job_max_numbers: Number(int("job_max_numbers") ?? DEFAULTS.job_max_numbers),
        // Kazoo's own key names win when an operator set them
        job_recover_threshold_s: Number(int("job_recovery_threshold_s", "job_recover_threshold_s") ?? DEFAULTS.job_recover_threshold_s),
        job_recover_timeout_s: Number(int("job_recovery_timeout_s", "job_recover_timeout_s") ?? DEFAULTS.job_recover_timeout_s),
        source: "system_config crossbar.resources",
      };
    } catch (_) {
      // keep the defaults
    }
  }
  cached = { account: ctx.session.account_id, value };
  return value;
}
