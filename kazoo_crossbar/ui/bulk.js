// Bulk numbers: pick a carrier, paste numbers or drop a file. The reader (numberfile.js,
// docs/number-files.md) shows what it found and every row it skipped, with its line; the console
// sends jobs of at most job_max_numbers, keeps their progress in view with an ETA, then groups the
// failures by reason, names the account that holds an existing number when the job says so, and
// offers the failures and the successes as CSV.
import { api, listAll, unlessExpired } from "./api.js";
import { append, errorBox, etaSeconds, field, h, humanSeconds, naturalCompare } from "./dom.js";
import { readNumbers } from "./numberfile.js";
import { chunks, csvCell, downloadText, failuresCsv, jobFailure, messageOf, skippedRow } from "./numbers.js";
import { jobSettings, numberRules } from "./settings.js";

const SHOWN_ROWS = 200;
const MAX_HOLDER_LOOKUPS = 25;
export const RESERVED_NOTE = "Imported numbers are reserved: they belong to this account and calls to them use the chosen "
  + "carrier, but they are not active yet. Kazoo puts a number in service when it is activated for the account "
  + "(PUT …/phone_numbers/{number}/activate), which is also when any charge applies.";

export async function renderBulk(ctx) {
  const [settings, rules, carriers] = await Promise.all([jobSettings(ctx), numberRules(ctx), carrierChoices(ctx)]);
  const view = bulkForm(ctx, carriers);
  let read = null;
  const reread = () => {
    read = readNumbers(view.numbers.value, rules.rules);
    showPreview(view, read, settings, rules.source);
    return read;
  };
  wireInput(view, reread);
  view.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    view.status.replaceChildren();
    const found = reread();
    if (!view.carrier.value) return view.status.append(alert("Choose a carrier first."));
    if (!found.numbers.length) return view.status.append(alert("No numbers found in the list."));
    view.start.disabled = true;
    try {
      await runImport(ctx, view, settings, found);
    } finally {
      view.start.disabled = false;
    }
  });
  ctx.main.replaceChildren(h("section", { "aria-labelledby": "bulk-title" },
    h("h2", { id: "bulk-title", text: `Bulk numbers for ${ctx.account.name}` }),
    view.form, view.status, view.progress));
  reread();
}

function alert(text) {
  return h("p", { class: "error", role: "alert", text });
}

// --- step 1: the carriers to choose from --------------------------------------------------------
async function carrierChoices(ctx) {
  const local = await listAll(`/accounts/${ctx.account.id}/resources`);
  const global = ctx.superduper ? await listAll("/resources").catch(unlessExpired([])) : [];
  const byName = (a, b) => naturalCompare(a.name ?? a.id, b.name ?? b.id);
  return { local: local.sort(byName), global: global.sort(byName) };
}

// --- step 2: the form ---------------------------------------------------------------------------
function bulkForm(ctx, { local, global }) {
  const option = (r) => h("option", { value: r.id, text: r.name ?? r.id });
  const view = {
    carrier: h("select", { name: "resource_id", required: true },
      h("option", { value: "", text: "Choose a carrier…" }),
      local.length ? h("optgroup", { label: "Account carriers" }, local.map(option)) : null,
      global.length ? h("optgroup", { label: "Global carriers" }, global.map(option)) : null),
    jobName: h("input", { name: "job_name", type: "text", maxlength: "100", placeholder: "optional" }),
    numbers: h("textarea", { name: "numbers", rows: 8, spellcheck: "false", placeholder: "+14155550100\n+14155550101" }),
    file: h("input", { name: "numbers_file", type: "file", accept: ".csv,.txt,.tsv,text/csv,text/plain" }),
    preview: h("p", { class: "preview", id: "bulk-preview", "aria-live": "polite" }),
    skipped: h("div", { class: "skipped-box", id: "bulk-skipped" }),
    start: h("button", { type: "submit", text: "Start import" }),
    status: h("div", { class: "status", "aria-live": "polite" }),
    progress: h("div", { class: "progress-box", id: "bulk-progress" }),
  };
  view.drop = h("div", { class: "drop", id: "drop-zone" },
    field("Numbers (one per line, or a CSV: the column headed number/phone/DID/E.164, else the first)", view.numbers),
    h("p", { class: "hint", text: "You can also drop a CSV or text file here." }));
  view.form = h("form", { class: "card bulk-form", "aria-labelledby": "bulk-title", novalidate: true },
    field("Carrier", view.carrier), field("Job name", view.jobName, "Each job is named after it, with its part number"),
    view.drop, field("Or choose a CSV or text file", view.file), view.preview, view.skipped,
    h("div", { class: "toolbar" }, view.start));
  return view;
}

function wireInput(view, onText) {
  const readFile = async (f) => {
    view.numbers.value = await f.text();
    onText();
  };
  view.numbers.addEventListener("input", onText);
  view.file.addEventListener("change", () => { if (view.file.files[0]) readFile(view.file.files[0]); });
  view.drop.addEventListener("dragover", (ev) => { ev.preventDefault(); view.drop.classList.add("over"); });
  view.drop.addEventListener("dragleave", () => view.drop.classList.remove("over"));
  view.drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    view.drop.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) readFile(f);
  });
}

// --- step 3: what the reader found, and every row it skipped -------------------------------------
function showPreview(view, read, settings, rulesSource) {
  const n = read.numbers.length;
  const column = read.header ? `column "${read.header}"` : `column ${read.column + 1}`;
  let text = `${n} number(s) found`;
  if (settings.job_max_numbers) {
    const parts = Math.max(1, Math.ceil(n / settings.job_max_numbers));
    text += `; they will be sent as ${parts} job(s) of at most ${settings.job_max_numbers} (job_max_numbers, ${settings.source}).`;
  } else {
    text += "; they will be sent as 1 job(s), split further if the service answers with a smaller job_max_numbers.";
  }
  if (n || read.skipped.length) {
    text += ` Read from ${column}${read.header ? ` (header on line ${read.header_line})` : ""}`;
    text += `, ${read.skipped.length} row(s) skipped, ${read.blank_lines} blank line(s); numbers checked with ${rulesSource}.`;
  }
  view.preview.textContent = text;
  view.skipped.replaceChildren(...(read.skipped.length ? [skippedTable(read.skipped)] : []));
}

function skippedTable(skipped) {
  const download = h("button", { type: "button", id: "download-skipped", text: "Download skipped rows as CSV",
    onclick: () => downloadText("skipped.csv", failuresCsv(skipped.map(skippedRow))) });
  return h("details", { class: "skipped", open: true },
    h("summary", { text: `${skipped.length} row(s) skipped: they will not be sent` }),
    h("div", { class: "toolbar" }, download),
    h("table", { class: "skipped-rows", id: "skipped-rows" },
      h("caption", { class: "sr-only", text: "Skipped rows" }),
      h("thead", {}, h("tr", {}, ["Line", "Value", "Reason", "Why"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, skipped.slice(0, SHOWN_ROWS).map((s) => h("tr", {},
        h("td", { class: "num", text: s.line }), h("td", {}, h("code", { text: s.value })),
        h("td", { text: s.reason }), h("td", { text: s.message }))))),
    skipped.length > SHOWN_ROWS ? h("p", { class: "hint", text: `The first ${SHOWN_ROWS} are listed; the download has all ${skipped.length}.` }) : null);
}

// --- step 4: send the jobs and follow them --------------------------------------------------------
async function runImport(ctx, view, settings, read) {
  const panel = progressPanel(read.numbers.length);
  // straight in the progress box, which the results join: the live part sticks while they scroll
  view.progress.replaceChildren(...panel.nodes);
  const lines = new Map(read.numbers.map(([line, number]) => [number, line]));
  const jobs = await sendJobs(ctx, view, settings, read.numbers.map(([, number]) => number), panel);
  if (!jobs.length) return;
  await followJobs(ctx, jobs, panel);
  panel.finished();
  await showResults(ctx, view, jobs, read, lines);
}

function jobsPath(ctx) {
  return `/accounts/${ctx.account.id}/resources/jobs`;
}

async function sendJobs(ctx, view, settings, numbers, panel) {
  let queue = settings.job_max_numbers ? chunks(numbers, settings.job_max_numbers) : [numbers];
  const jobs = [];
  const name = view.jobName.value.trim();
  let sent = 0;
  while (queue.length) {
    const part = queue.shift();
    const index = sent + 1;
    const total = sent + 1 + queue.length;
    const data = { resource_id: view.carrier.value, numbers: part };
    if (name) data.name = total > 1 ? `${name} (${index}/${total})` : name;
    const row = panel.addJob(index, part.length);
    try {
      const body = await api("PUT", jobsPath(ctx), data);
      row.sent(body.data.id);
      jobs.push({ id: body.data.id, numbers: part, row, done: false, successes: {}, errors: {} });
      sent += 1;
    } catch (err) {
      // The service takes fewer numbers per job than we knew (its job_max_numbers, unreadable
      // without super-duper rights): split what is left by its limit and go on.
      const target = err.status === 400 && err.data && err.data.numbers && err.data.numbers.maxItems
        ? Number(err.data.numbers.maxItems.target) : 0;
      if (Number.isInteger(target) && target > 0 && part.length > target) {
        row.remove();
        queue = chunks([part, ...queue].flat(), target);
        settings.job_max_numbers = target;
        settings.source = "the limit the service answered";
        panel.note(`The service takes at most ${target} numbers per job (job_max_numbers); the rest is sent in jobs of ${target}.`);
        continue;
      }
      row.failed(err);
      sent += 1;
    }
  }
  return jobs;
}

function followJobs(ctx, jobs, panel) {
  return new Promise((resolve) => {
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        for (const job of jobs.filter((j) => !j.done)) {
          try {
            const d = (await api("GET", `${jobsPath(ctx)}/${encodeURIComponent(job.id)}`)).data;
            job.successes = d.successes || {};
            job.errors = d.errors || {};
            job.done = d.status === "complete" || d.status === "failed"; // failed: it never will complete
            job.row.update(Object.keys(job.successes).length + Object.keys(job.errors).length, d.status || "");
          } catch (err) {
            job.row.failed(err, "Could not read the job:");
          }
        }
        panel.totals(jobs);
        if (jobs.every((j) => j.done)) {
          clearInterval(timer);
          resolve();
        }
      } finally {
        busy = false;
      }
    };
    const timer = ctx.every(1000, tick);
    tick();
  });
}

/** The live progress: one bar for everything, one per job, the totals and an ETA; it stays in view. */
function progressPanel(total) {
  const started = Date.now();
  const bar = h("progress", { max: String(total || 1), value: "0", "aria-label": "Import progress", id: "bulk-overall" });
  const totalsEl = h("p", { class: "totals", id: "bulk-totals", role: "status" });
  const eta = h("span", { class: "eta", id: "bulk-eta", text: "estimating the time left…" });
  const noteEl = h("div", { class: "split-note", id: "bulk-split-note", "aria-live": "polite" });
  const list = h("ol", { class: "jobs-progress" });
  const live = h("div", { class: "live-progress", id: "bulk-live" }, h("h3", { text: "Import progress" }), bar, " ", eta, totalsEl);
  return {
    nodes: [live, noteEl, list],
    note(text) { noteEl.replaceChildren(h("p", { class: "notice", text })); },
    addJob(index, size) {
      const jobBar = h("progress", { max: String(size), value: "0" });
      const label = h("span", { class: "count", text: `0 / ${size}` });
      const state = h("span", { class: "job-status", text: "sending…" });
      const idEl = h("span", { class: "job-id", text: `Job ${index}` });
      const li = h("li", {}, idEl, " ", jobBar, " ", label, " ", state);
      list.append(li);
      return {
        sent(id) { idEl.replaceChildren(h("a", { href: `#/jobs/${encodeURIComponent(id)}`, text: id })); state.textContent = "pending"; },
        update(done, status) { jobBar.value = done; label.textContent = `${done} / ${size}`; state.textContent = status; },
        failed(err, title = "Not sent:") { state.replaceChildren(errorBox(err, title)); },
        remove() { li.remove(); },
      };
    },
    totals(jobs) {
      const ok = jobs.reduce((n, j) => n + Object.keys(j.successes).length, 0);
      const bad = jobs.reduce((n, j) => n + Object.keys(j.errors).length, 0);
      const complete = jobs.filter((j) => j.done).length;
      bar.value = ok + bad;
      totalsEl.textContent = `${complete} of ${jobs.length} job(s) complete: ${ok} imported, ${bad} failed.`;
      const left = etaSeconds(ok + bad, total, Date.now() - started);
      eta.textContent = left === null ? "estimating the time left…" : left === 0 ? "done" : `about ${humanSeconds(left)} left`;
    },
    finished() {
      live.classList.add("finished");
      eta.textContent = `done in ${humanSeconds((Date.now() - started) / 1000)}`;
    },
  };
}

// --- step 5: the results --------------------------------------------------------------------------
async function showResults(ctx, view, jobs, read, lines) {
  const failures = jobs.flatMap((j) => Object.entries(j.errors).map(([number, error]) => ({ job_id: j.id, number, error })));
  const imported = jobs.flatMap((j) => Object.entries(j.successes).map(([number, s]) => ({ job_id: j.id, number, s })));
  const holders = await holderNames(ctx, failures);
  const rows = failures.map((f) => ({
    ...jobFailure(f.number, f.error, f.job_id, lines.get(f.number) ?? null),
    shown: messageOf(f.error, holders.get(f.error && f.error.assigned_to)), // the holder's name when we know it
  }));
  const csvRows = [...read.skipped.map(skippedRow), ...rows];
  const results = h("section", { class: "results", "aria-labelledby": "results-title" },
    h("h3", { id: "results-title", text: "Results" }),
    h("p", { class: "summary", id: "bulk-summary", text: `Import complete: ${imported.length} number(s) imported, ${failures.length} failed.` }),
    read.skipped.length ? h("p", { class: "hint", id: "bulk-skipped-summary", text: `${read.skipped.length} row(s) of the list were skipped before sending (listed above); the failures download includes them.` }) : null);
  if (failures.length || read.skipped.length) {
    append(results, h("div", { class: "toolbar" },
      h("button", { type: "button", id: "download-failures", text: "Download failures as CSV",
        onclick: () => downloadText("failures.csv", failuresCsv(csvRows)) }), " ",
      failures.length ? h("button", { type: "button", text: "Put the failed numbers back in the list",
        onclick: () => { view.numbers.value = failures.map((f) => f.number).join("\n"); view.numbers.dispatchEvent(new Event("input")); view.numbers.focus(); } }) : null));
  }
  if (failures.length) append(results, [failureGroups(rows), failureTable(rows)]);
  if (imported.length) append(results, successes(imported, lines));
  view.progress.append(results);
}

/** The names of the accounts that hold numbers that exist, when the job names them (and we may read them). */
async function holderNames(ctx, failures) {
  const ids = [...new Set(failures.map((f) => f.error && f.error.assigned_to).filter((id) => typeof id === "string" && id))];
  const names = new Map();
  await Promise.all(ids.slice(0, MAX_HOLDER_LOOKUPS).map(async (id) => {
    if (id === ctx.account.id) return names.set(id, ctx.account.name);
    try {
      names.set(id, (await api("GET", `/accounts/${encodeURIComponent(id)}`)).data.name || id);
    } catch (_) {
      // not ours to read: the id alone
    }
  }));
  return names;
}

function failureGroups(rows) {
  const groups = new Map();
  for (const row of rows) {
    const g = groups.get(row.reason) || { count: 0, example: row.shown };
    g.count += 1;
    groups.set(row.reason, g);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].count - a[1].count || naturalCompare(a[0], b[0]));
  return h("table", { class: "failure-groups", id: "failure-groups" },
    h("caption", { text: "Failures by reason" }),
    h("thead", {}, h("tr", {}, ["Reason", "Count", "For example"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, sorted.map(([reason, g]) => h("tr", { dataset: { reason } },
      h("th", { scope: "row", text: reason }), h("td", { class: "num", text: g.count }), h("td", { text: g.example })))));
}

function failureTable(rows) {
  return h("table", { class: "failures" },
    h("caption", { text: rows.length > SHOWN_ROWS ? `First ${SHOWN_ROWS} of ${rows.length} failures` : "Failures" }),
    h("thead", {}, h("tr", {}, ["Number", "Line", "Error", "Reason", "Job"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.slice(0, SHOWN_ROWS).map((r) => h("tr", {},
      h("td", { text: r.number }), h("td", { class: "num", text: r.line ?? "" }),
      h("td", { class: "error-code", text: r.reason }), h("td", { text: r.shown }),
      h("td", { class: "job", text: r.job_id })))));
}

function successes(imported, lines) {
  const csv = () => {
    const head = ["number", "state", "carrier_module", "line", "job_id"];
    const body = imported.map(({ job_id, number, s }) => [number, s?.state, s?._read_only?.carrier_module, lines.get(number), job_id]
      .map(csvCell).join(","));
    return [head.join(","), ...body].join("\r\n") + "\r\n";
  };
  return h("div", { class: "imported-box" },
    h("p", { class: "notice", id: "reserved-note", text: RESERVED_NOTE }),
    h("div", { class: "toolbar" }, h("button", { type: "button", id: "download-successes", text: "Download imported numbers as CSV",
      onclick: () => downloadText("imported.csv", csv()) })),
    h("details", { class: "imported" },
      h("summary", { text: `Imported numbers (${imported.length})` }),
      h("table", { class: "successes" },
        h("caption", { class: "sr-only", text: "Imported numbers" }),
        h("thead", {}, h("tr", {}, ["Number", "State", "Carrier module"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, imported.slice(0, SHOWN_ROWS).map(({ number, s }) => h("tr", {},
          h("td", { text: number }), h("td", { text: s && s.state ? s.state : "" }),
          h("td", { text: s && s._read_only && s._read_only.carrier_module ? s._read_only.carrier_module : "" })))))));
}

