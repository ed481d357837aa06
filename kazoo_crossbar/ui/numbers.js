// Job splitting, what a failed number means, and the one failures CSV (docs/number-files.md; the
// CLI's kazoo_crossbar/client/failures.py writes the same bytes).

export function chunks(list, size) {
  const n = Math.max(1, Math.floor(size) || 1);
  const out = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

export const COLUMNS = ["number", "reason", "message", "cause", "line", "job_id"];
// Kazoo stores some job errors as a bare string: a plain-words text for each.
export const REASON_TEXT = {
  not_reconcilable: "Kazoo's number manager does not accept it as a number (reconcile_regex)",
};
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const PLAIN_NUMBER = /^\+?[0-9]+$/;

/** A job error's reason: the knm error's `error`, or the bare string Kazoo stored. */
export function reasonOf(error) {
  if (typeof error === "string") return error;
  if (error && typeof error === "object") return String(error.error || error.reason || "error");
  return "error";
}

/** Its message; `number_exists` naming the holding account adds it (the console may show its name). */
export function messageOf(error, holderName) {
  if (error && typeof error === "object") {
    let message = String(error.message || "");
    const holder = error.assigned_to;
    if (reasonOf(error) === "number_exists" && typeof holder === "string" && holder) {
      message += holderName ? ` (held by ${holderName}, account ${holder})` : ` (held by account ${holder})`;
    }
    return message;
  }
  return REASON_TEXT[reasonOf(error)] || "";
}

export function jobFailure(number, error, jobId, line = null) {
  const cause = error && typeof error === "object" ? error.cause : undefined;
  return { number, reason: reasonOf(error), message: messageOf(error), cause, line, job_id: jobId };
}

export function skippedRow(skipped) {
  return { number: skipped.value, reason: skipped.reason, message: skipped.message, cause: null, line: skipped.line, job_id: null };
}

export function csvCell(value) {
  let text;
  if (value === undefined || value === null) text = "";
  else if (typeof value === "string") text = value;
  else if (typeof value === "number") text = String(value);
  else text = JSON.stringify(value);
  text = text.replace(CONTROL, "");
  // a spreadsheet would run it as a formula: a leading ' makes it text (a plain number is safe)
  if (/^[=+\-@]/.test(text) && !PLAIN_NUMBER.test(text)) text = `'${text}`;
  return /[",]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** rows: [{number, reason, message, cause, line, job_id}] → the failures CSV. */
export function failuresCsv(rows) {
  const lines = [COLUMNS.join(",")];
  for (const row of rows) lines.push(COLUMNS.map((c) => csvCell(row[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

export function downloadText(filename, text, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
