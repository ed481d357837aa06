// Bulk numbers: pick a carrier, paste numbers or drop a file; the console sends jobs of at most
// job_max_numbers, polls each one, then lists successes and failures (downloadable as CSV).
import { api, listAll } from "./api.js";
import { append, errorBox, field, h } from "./dom.js";
import { chunks, downloadText, failuresCsv, parseNumbers } from "./numbers.js";
import { jobSettings } from "./settings.js";

const SHOWN_FAILURES = 200;

export async function renderBulk(ctx) {
  const settings = await jobSettings(ctx);
  const jobsPath = `/accounts/${ctx.account.id}/resources/jobs`;
  const local = await listAll(`/accounts/${ctx.account.id}/resources`);
  const global = ctx.superduper ? await listAll("/resources").catch(() => []) : [];

  const carrier = h("select", { name: "resource_id", required: true },
    h("option", { value: "", text: "Choose a carrier…" }),
    local.length ? h("optgroup", { label: "Account carriers" }, local.map((r) => h("option", { value: r.id, text: r.name ?? r.id }))) : null,
    global.length ? h("optgroup", { label: "Global carriers" }, global.map((r) => h("option", { value: r.id, text: r.name ?? r.id }))) : null);
  const jobName = h("input", { name: "job_name", type: "text", maxlength: "100", placeholder: "optional" });
  const numbers = h("textarea", { name: "numbers", rows: 8, spellcheck: "false", placeholder: "+14155550100\n+14155550101" });
  const file = h("input", { name: "numbers_file", type: "file", accept: ".csv,.txt,text/csv,text/plain" });
  const preview = h("p", { class: "preview", id: "bulk-preview", "aria-live": "polite" });
  const start = h("button", { type: "submit", text: "Start import" });
  const status = h("div", { class: "status", "aria-live": "polite" });
  const progress = h("div", { class: "progress-box", id: "bulk-progress" });
  const drop = h("div", { class: "drop", id: "drop-zone" }, field("Numbers (one per line, or a CSV whose first column holds them)", numbers),
    h("p", { class: "hint", text: "You can also drop a CSV or text file here." }));

  function update() {
    const found = parseNumbers(numbers.value);
    const parts = chunks(found, settings.job_max_numbers).length;
    preview.textContent = `${found.length} number(s) found; they will be sent as ${parts} job(s) of at most ${settings.job_max_numbers} (job_max_numbers, ${settings.source}).`;
    return found;
  }
  async function readFile(f) {
    numbers.value = await f.text();
    update();
  }
  numbers.addEventListener("input", update);
  file.addEventListener("change", () => { if (file.files[0]) readFile(file.files[0]); });
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) readFile(f);
  });

  const form = h("form", { class: "card bulk-form", "aria-labelledby": "bulk-title", novalidate: true },
    field("Carrier", carrier), field("Job name", jobName, "Each job is named after it, with its part number"),
    drop, field("Or choose a CSV or text file", file), preview, h("div", { class: "toolbar" }, start));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.replaceChildren();
    const found = update();
    if (!carrier.value) return status.append(h("p", { class: "error", role: "alert", text: "Choose a carrier first." }));
    if (!found.length) return status.append(h("p", { class: "error", role: "alert", text: "No numbers found in the list." }));
    start.disabled = true;
    try {
      await runImport(found, carrier.value, jobName.value.trim());
    } finally {
      start.disabled = false;
    }
  });

  async function runImport(found, resourceId, name) {
    let queue = chunks(found, settings.job_max_numbers);
    const jobs = [];
    progress.replaceChildren(h("h3", { text: "Import progress" }));
    const list = h("ol", { class: "jobs-progress" });
    const totals = h("p", { class: "totals", id: "bulk-totals", role: "status" });
    const note = h("div", { class: "split-note", id: "bulk-split-note", "aria-live": "polite" });
    progress.append(totals, note, list);
    let sent = 0;
    while (queue.length) {
      const numbersPart = queue.shift();
      const index = sent + 1;
      const total = sent + 1 + queue.length;
      const data = { resource_id: resourceId, numbers: numbersPart };
      if (name) data.name = total > 1 ? `${name} (${index}/${total})` : name;
      const bar = h("progress", { max: String(numbersPart.length), value: "0" });
      const label = h("span", { class: "count", text: `0 / ${numbersPart.length}` });
      const state = h("span", { class: "job-status", text: "sending…" });
      const li = h("li", {}, h("span", { class: "job-id", text: `Job ${index}` }), " ", bar, " ", label, " ", state);
      list.append(li);
      try {
        const body = await api("PUT", jobsPath, data);
        const job = { id: body.data.id, numbers: numbersPart, bar, label, state, done: false, successes: {}, errors: {} };
        li.querySelector(".job-id").replaceChildren(h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.id }));
        state.textContent = "pending";
        jobs.push(job);
        sent += 1;
      } catch (err) {
        // The service takes fewer numbers per job than we knew (its job_max_numbers, unreadable
        // without super-duper rights): split what is left by its limit and go on.
        const target = err.status === 400 && err.data && err.data.numbers && err.data.numbers.maxItems
          ? Number(err.data.numbers.maxItems.target) : 0;
        if (Number.isInteger(target) && target > 0 && numbersPart.length > target) {
          li.remove();
          queue = chunks([numbersPart, ...queue].flat(), target);
          settings.job_max_numbers = target;
          settings.source = "the limit the service answered";
          note.replaceChildren(h("p", { class: "notice", text: `The service takes at most ${target} numbers per job (job_max_numbers); the rest is sent in jobs of ${target}.` }));
          continue;
        }
        state.replaceChildren(errorBox(err, "Not sent:"));
        sent += 1;
      }
    }
    if (!jobs.length) return;
    await new Promise((resolve) => {
      let busy = false;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          for (const job of jobs.filter((j) => !j.done)) {
            try {
              const body = await api("GET", `${jobsPath}/${encodeURIComponent(job.id)}`);
              const d = body.data;
              job.successes = d.successes || {};
              job.errors = d.errors || {};
              const done = Object.keys(job.successes).length + Object.keys(job.errors).length;
              job.bar.value = done;
              job.label.textContent = `${done} / ${job.numbers.length}`;
              job.state.textContent = d.status || "";
              job.done = d.status === "complete";
            } catch (err) {
              job.state.replaceChildren(errorBox(err, "Could not read the job:"));
            }
          }
          showTotals(jobs, totals);
          if (jobs.every((j) => j.done)) {
            clearInterval(timer);
            showResults(jobs);
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

  function showTotals(jobs, totals) {
    const ok = jobs.reduce((n, j) => n + Object.keys(j.successes).length, 0);
    const bad = jobs.reduce((n, j) => n + Object.keys(j.errors).length, 0);
    const complete = jobs.filter((j) => j.done).length;
    totals.textContent = `${complete} of ${jobs.length} job(s) complete: ${ok} imported, ${bad} failed.`;
  }

  function showResults(jobs) {
    const failures = jobs.flatMap((j) => Object.entries(j.errors).map(([number, error]) => ({ job_id: j.id, number, error })));
    const ok = jobs.reduce((n, j) => n + Object.keys(j.successes).length, 0);
    const results = h("section", { class: "results", "aria-labelledby": "results-title" },
      h("h3", { id: "results-title", text: "Results" }),
      h("p", { class: "summary", id: "bulk-summary", text: `Import complete: ${ok} number(s) imported, ${failures.length} failed.` }));
    if (failures.length) {
      const download = h("button", { type: "button", id: "download-failures", text: "Download failures as CSV",
        onclick: () => downloadText("failures.csv", failuresCsv(failures)) });
      const resend = h("button", { type: "button", text: "Put the failed numbers back in the list",
        onclick: () => { numbers.value = failures.map((f) => f.number).join("\n"); update(); numbers.focus(); } });
      append(results, [h("div", { class: "toolbar" }, download, " ", resend),
        h("table", { class: "failures" },
          h("caption", { text: failures.length > SHOWN_FAILURES ? `First ${SHOWN_FAILURES} of ${failures.length} failures` : "Failures" }),
          h("thead", {}, h("tr", {}, ["Number", "Error", "Reason"].map((t) => h("th", { scope: "col", text: t })))),
          h("tbody", {}, failures.slice(0, SHOWN_FAILURES).map((f) => h("tr", {},
            h("td", { text: f.number }), h("td", { text: f.error && f.error.error ? f.error.error : "" }),
            h("td", { text: f.error && f.error.message ? f.error.message : JSON.stringify(f.error) })))))]);
    }
    if (ok) {
      const imported = jobs.flatMap((j) => Object.entries(j.successes));
      append(results, [h("details", { class: "imported" },
        h("summary", { text: `Imported numbers (${ok})` }),
        h("table", { class: "successes" },
          h("caption", { class: "sr-only", text: "Imported numbers" }),
          h("thead", {}, h("tr", {}, ["Number", "State", "Carrier module"].map((t) => h("th", { scope: "col", text: t })))),
          h("tbody", {}, imported.slice(0, SHOWN_FAILURES).map(([number, s]) => h("tr", {},
            h("td", { text: number }), h("td", { text: s && s.state ? s.state : "" }),
            h("td", { text: s && s._read_only && s._read_only.carrier_module ? s._read_only.carrier_module : "" }))))))]);
    }
    progress.append(results);
  }

  ctx.main.replaceChildren(h("section", { "aria-labelledby": "bulk-title" },
    h("h2", { id: "bulk-title", text: `Bulk numbers for ${ctx.account.name}` }),
    form, status, progress));
  update();
}
