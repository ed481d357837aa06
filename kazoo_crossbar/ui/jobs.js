// The account's jobs (a date range and a status filter, with each job's carrier), one job's details,
// and the jobs that wait for the recovery loop (not complete, untouched for longer than the threshold).
import { api, listAll, unlessExpired } from "./api.js";
import { append, dateToGregorian, errorBox, field, formatGregorian, h, humanSeconds, naturalCompare } from "./dom.js";
import { downloadText, failuresCsv, jobFailure, messageOf } from "./numbers.js";
import { jobSettings } from "./settings.js";

const DAY_MS = 86400000;
export const STATUS_FILTERS = [
  ["", "Any status"], ["pending", "pending"], ["running", "running"], ["complete", "complete"], ["failed", "failed"],
  ["waiting", "waiting for recovery"], ["not_complete", "not complete"],
];

export function waitingForRecovery(job, settings, nowGregorian) {
  return (job.status === "pending" || job.status === "running") && typeof job.timestamp === "number"
    && Number.isInteger(settings.job_recover_threshold_s)
    && nowGregorian - job.timestamp > settings.job_recover_threshold_s;
}

export function statusMatches(job, filter, settings, nowGregorian) {
  if (!filter) return true;
  if (filter === "waiting") return waitingForRecovery(job, settings, nowGregorian);
  if (filter === "not_complete") return job.status !== "complete";
  return job.status === filter;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The recovery settings in plain words, with the system_config keys and values they come from. */
export function recoveryNote(settings) {
  const threshold = settings.job_recover_threshold_s;
  const timeout = settings.job_recover_timeout_s;
  const note = h("p", { class: "recovery-note", id: "recovery-settings" });
  if (!Number.isInteger(threshold)) {
    return append(note, "The recovery loop's settings (crossbar.resources) are not known here.");
  }
  append(note, ["A job that is not complete and has not changed for ", h("strong", { text: humanSeconds(threshold) }),
    " is resumed by the recovery loop, which looks for such jobs every ",
    h("strong", { text: Number.isInteger(timeout) ? humanSeconds(timeout) : "(unknown)" }), ". ",
    h("span", { class: "keys", text: `(crossbar.resources: job_recover_threshold_s = ${threshold}, job_recover_timeout_s = ${timeout}; ${settings.source}.)` })]);
  return note;
}

/** resource id → carrier name, for the account's carriers and (a super-duper admin's) global ones. */
async function carrierNames(ctx) {
  const names = new Map();
  const lists = [listAll(`/accounts/${ctx.account.id}/resources`).catch(unlessExpired([]))];
  if (ctx.superduper) lists.push(listAll("/resources").catch(unlessExpired([])));
  for (const rows of await Promise.all(lists)) for (const r of rows) if (!names.has(r.id)) names.set(r.id, r.name ?? r.id);
  return names;
}

export async function renderJobs(ctx) {
  const [settings, carriers] = await Promise.all([jobSettings(ctx), carrierNames(ctx)]);
  const path = `/accounts/${ctx.account.id}/resources/jobs`;
  const now = new Date();
  const from = h("input", { type: "date", name: "created_from", value: isoDay(new Date(now.getTime() - 30 * DAY_MS)) });
  const to = h("input", { type: "date", name: "created_to", value: isoDay(now) });
  const status = h("select", { name: "status" }, STATUS_FILTERS.map(([value, text]) => h("option", { value, text })));
  const results = h("div", { class: "table-wrap", id: "jobs-results", "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Filter jobs" },
    field("Created from", from), field("Created to", to), field("Status", status), h("button", { type: "submit", text: "Show jobs" }));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  let rows = null;
  status.addEventListener("change", () => { if (rows) show(); });

  async function load() {
    const query = {};
    if (from.value) query.created_from = String(dateToGregorian(new Date(`${from.value}T00:00:00Z`)));
    if (to.value) query.created_to = String(dateToGregorian(new Date(`${to.value}T23:59:59Z`)));
    results.replaceChildren(h("p", { text: "Loading…" }));
    try {
      rows = await listAll(path, query);
    } catch (err) {
      rows = null;
      results.replaceChildren(errorBox(err, "Could not list the jobs:"));
      return;
    }
    show();
  }

  function show() {
    const nowG = dateToGregorian(new Date());
    const shown = rows.filter((job) => statusMatches(job, status.value, settings, nowG));
    if (!rows.length) return results.replaceChildren(h("p", { class: "empty", text: "No jobs in this range." }));
    if (!shown.length) return results.replaceChildren(h("p", { class: "empty", text: `None of the ${rows.length} job(s) in this range has that status.` }));
    results.replaceChildren(
      h("p", { class: "hint", id: "jobs-count", text: `${shown.length} of ${rows.length} job(s) in this range.` }),
      h("table", { class: "jobs", id: "jobs-table" },
        h("caption", { class: "sr-only", text: "Jobs" }),
        h("thead", {}, h("tr", {}, ["Job", "Name", "Carrier", "Status", "Successes", "Failures", "Last change"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, shown.map((job) => jobRow(job, settings, carriers, nowG)))));
  }

  ctx.main.replaceChildren(h("section", { "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title", text: `Jobs of ${ctx.account.name}` }), recoveryNote(settings), form, results));
  await load();
}

function jobRow(job, settings, carriers, nowG) {
  const waiting = waitingForRecovery(job, settings, nowG);
  const carrier = carriers.get(job.resource_id);
  return h("tr", { dataset: { id: job.id }, class: waiting ? "waiting" : null },
    h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.id })),
    h("td", { "data-label": "Name", text: job.name ?? "" }),
    h("td", { class: "carrier", "data-label": "Carrier", text: carrier ?? job.resource_id ?? "", title: job.resource_id ?? "" }),
    h("td", { "data-label": "Status" }, h("span", { class: `badge ${job.status}`, text: job.status ?? "" }),
      waiting ? h("span", { class: "badge recovery", title: "See the recovery settings above", text: "waiting for recovery" }) : null),
    h("td", { class: "num", "data-label": "Successes", text: job.successes ?? 0 }),
    h("td", { class: "num", "data-label": "Failures", text: job.failures ?? 0 }),
    h("td", { "data-label": "Last change", text: formatGregorian(job.timestamp) }));
}

/** The carrier's name: the account's resource, else a global one (readable by a super-duper admin). */
async function carrierName(ctx, resourceId) {
  if (typeof resourceId !== "string") return null;
  const paths = [`/accounts/${ctx.account.id}/resources/${encodeURIComponent(resourceId)}`];
  if (ctx.superduper) paths.push(`/resources/${encodeURIComponent(resourceId)}`);
  for (const path of paths) {
    try {
      return (await api("GET", path)).data.name ?? null;
    } catch (_) {
      // not there: try the next place
    }
  }
  return null;
}

export async function renderJob(ctx, jobId, timer = null) {
  const settings = await jobSettings(ctx);
  const body = await api("GET", `/accounts/${ctx.account.id}/resources/jobs/${encodeURIComponent(jobId)}`);
  const job = body.data;
  const successes = Object.entries(job.successes || {});
  const failures = Object.entries(job.errors || {}).map(([number, error]) => ({ ...jobFailure(number, error, job.id), error }));
  const total = Array.isArray(job.numbers) ? job.numbers.length : successes.length + failures.length;
  const waiting = waitingForRecovery(job, settings, dateToGregorian(new Date()));
  const carrier = await carrierName(ctx, job.resource_id);
  const facts = h("dl", { class: "facts" });
  for (const [k, v] of [["Job", job.id], ["Name", job.name ?? ""], ["Status", job.status ?? ""], ["Carrier", carrier ? `${carrier} (${job.resource_id})` : job.resource_id ?? ""],
    ["Created", formatGregorian(job.timestamp)], ["Numbers", total], ["Successes", successes.length], ["Failures", failures.length]]) {
    append(facts, [h("dt", { text: k }), h("dd", { text: v })]);
  }
  const section = h("section", { "aria-labelledby": "job-title" },
    h("p", {}, h("a", { href: "#/jobs", text: "← All jobs" })),
    h("h2", { id: "job-title", text: `Job ${job.id}` }), facts,
    waiting ? h("p", { class: "badge recovery", text: "Waiting for recovery" }) : null,
    job.status === "failed" ? h("p", { class: "notice job-failure", role: "status", text: `This job failed and will not run again: ${job.failure?.message ?? "no reason recorded"}.` }) : null,
    job.status !== "complete" && job.status !== "failed" ? recoveryNote(settings) : null,
    h("progress", { max: String(total || 1), value: String(successes.length + failures.length), "aria-label": "Progress" }));
  if (failures.length) {
    const counts = new Map();
    for (const f of failures) counts.set(f.reason, (counts.get(f.reason) || 0) + 1);
    append(section, [h("h3", { text: "Failures" }),
      h("p", { class: "failure-counts", text: [...counts.entries()].sort((a, b) => b[1] - a[1] || naturalCompare(a[0], b[0])).map(([r, n]) => `${r}: ${n}`).join(" · ") }),
      h("button", { type: "button", id: "download-failures", text: "Download failures as CSV", onclick: () => downloadText(`failures-${job.id}.csv`, failuresCsv(failures)) }),
      h("table", { class: "failures" },
        h("thead", {}, h("tr", {}, ["Number", "Error", "Reason"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, failures.slice(0, 500).map((f) => h("tr", {}, h("td", { text: f.number }),
          h("td", { class: "error-code", text: f.reason }), h("td", { text: messageOf(f.error) })))))]);
  }
  if (successes.length) {
    append(section, [h("details", { class: "imported" }, h("summary", { text: `Successes (${successes.length})` }),
      h("table", { class: "successes" },
        h("thead", {}, h("tr", {}, ["Number", "State"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, successes.slice(0, 500).map(([number, s]) => h("tr", {}, h("td", { text: number }), h("td", { text: s?.state ?? "" }))))))]);
  }
  ctx.main.replaceChildren(section);
  // a running job is read again every 2 s until it completes (the shell stops timers on navigation)
  const over = job.status === "complete" || job.status === "failed"; // failed: it never will complete
  if (!over && !timer) {
    const t = ctx.every(2000, () => renderJob(ctx, jobId, t).catch(() => {}));
  } else if (over && timer) {
    clearInterval(timer);
  }
}
