// The account's jobs (created_from/created_to filter), one job's details, and the jobs that
// wait for the recovery loop (not complete, untouched for longer than the threshold).
import { api, listAll } from "./api.js";
import { append, dateToGregorian, errorBox, field, formatGregorian, h } from "./dom.js";
import { downloadText, failuresCsv } from "./numbers.js";
import { jobSettings } from "./settings.js";

const DAY_MS = 86400000;

export function waitingForRecovery(job, settings, nowGregorian) {
  return job.status !== "complete" && typeof job.timestamp === "number"
    && nowGregorian - job.timestamp > settings.job_recover_threshold_s;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function recoveryNote(settings) {
  return h("p", { class: "recovery-note", id: "recovery-settings" },
    "Jobs not complete and untouched for more than ", h("strong", { text: `job_recover_threshold_s = ${settings.job_recover_threshold_s}` }),
    " seconds are resumed by the recovery loop, which runs every ", h("strong", { text: `job_recover_timeout_s = ${settings.job_recover_timeout_s}` }),
    ` seconds (${settings.source}).`);
}

export async function renderJobs(ctx) {
  const settings = await jobSettings(ctx);
  const path = `/accounts/${ctx.account.id}/resources/jobs`;
  const now = new Date();
  const from = h("input", { type: "date", name: "created_from", value: isoDay(new Date(now.getTime() - 30 * DAY_MS)) });
  const to = h("input", { type: "date", name: "created_to", value: isoDay(now) });
  const results = h("div", { class: "table-wrap", id: "jobs-results", "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Filter jobs by creation date" },
    field("Created from", from), field("Created to", to), h("button", { type: "submit", text: "Show jobs" }));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });

  async function load() {
    const query = {};
    if (from.value) query.created_from = String(dateToGregorian(new Date(`${from.value}T00:00:00Z`)));
    if (to.value) query.created_to = String(dateToGregorian(new Date(`${to.value}T23:59:59Z`)));
    results.replaceChildren(h("p", { text: "Loading…" }));
    let rows;
    try {
      rows = await listAll(path, query);
    } catch (err) {
      results.replaceChildren(errorBox(err, "Could not list the jobs:"));
      return;
    }
    const nowG = dateToGregorian(new Date());
    if (!rows.length) return results.replaceChildren(h("p", { class: "empty", text: "No jobs in this range." }));
    results.replaceChildren(h("table", { class: "jobs", id: "jobs-table" },
      h("caption", { class: "sr-only", text: "Jobs" }),
      h("thead", {}, h("tr", {}, ["Job", "Name", "Status", "Successes", "Failures", "Last change"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows.map((job) => {
        const waiting = waitingForRecovery(job, settings, nowG);
        return h("tr", { dataset: { id: job.id }, class: waiting ? "waiting" : null },
          h("th", { scope: "row" }, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.id })),
          h("td", { "data-label": "Name", text: job.name ?? "" }),
          h("td", { "data-label": "Status" }, h("span", { class: `badge ${job.status}`, text: job.status ?? "" }),
            waiting ? h("span", { class: "badge recovery", title: "See the recovery settings above", text: "waiting for recovery" }) : null),
          h("td", { class: "num", "data-label": "Successes", text: job.successes ?? 0 }),
          h("td", { class: "num", "data-label": "Failures", text: job.failures ?? 0 }),
          h("td", { "data-label": "Last change", text: formatGregorian(job.timestamp) }));
      }))));
  }

  ctx.main.replaceChildren(h("section", { "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title", text: `Jobs of ${ctx.account.name}` }), recoveryNote(settings), form, results));
  await load();
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
  const failures = Object.entries(job.errors || {}).map(([number, error]) => ({ job_id: job.id, number, error }));
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
    job.status !== "complete" ? recoveryNote(settings) : null,
    h("progress", { max: String(total || 1), value: String(successes.length + failures.length), "aria-label": "Progress" }));
  if (failures.length) {
    append(section, [h("h3", { text: "Failures" }),
      h("button", { type: "button", id: "download-failures", text: "Download failures as CSV", onclick: () => downloadText(`failures-${job.id}.csv`, failuresCsv(failures)) }),
      h("table", { class: "failures" },
        h("thead", {}, h("tr", {}, ["Number", "Error", "Reason"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, failures.slice(0, 500).map((f) => h("tr", {}, h("td", { text: f.number }),
          h("td", { text: f.error?.error ?? "" }), h("td", { text: f.error?.message ?? JSON.stringify(f.error) })))))]);
  }
  if (successes.length) {
    append(section, [h("details", { class: "imported" }, h("summary", { text: `Successes (${successes.length})` }),
      h("table", { class: "successes" },
        h("thead", {}, h("tr", {}, ["Number", "State"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, successes.slice(0, 500).map(([number, s]) => h("tr", {}, h("td", { text: number }), h("td", { text: s?.state ?? "" }))))))]);
  }
  ctx.main.replaceChildren(section);
  // a running job is read again every 2 s until it completes (the shell stops timers on navigation)
  if (job.status !== "complete" && !timer) {
    const t = ctx.every(2000, () => renderJob(ctx, jobId, t).catch(() => {}));
  } else if (job.status === "complete" && timer) {
    clearInterval(timer);
  }
}
