// Numbers from pasted text or a CSV/text file, job splitting, and the failures CSV.

/** Every phone number in the text (first column of a CSV, or one per line/word), in order, once. */
export function parseNumbers(text) {
  const seen = new Set();
  const out = [];
  for (const line of String(text).split(/\r?\n/)) {
    for (const cell of line.split(/[,;\t]/)) {
      const raw = cell.trim().replace(/^["']|["']$/g, "").trim();
      if (!raw) continue;
      for (const token of raw.split(/\s+(?=\+|\d{7,})/)) {
        const cleaned = token.replace(/[\s().-]/g, "");
        if (!/^\+?\d{7,18}$/.test(cleaned) || seen.has(cleaned)) continue;
        seen.add(cleaned);
        out.push(cleaned);
      }
    }
  }
  return out;
}

export function chunks(list, size) {
  const n = Math.max(1, Math.floor(size) || 1);
  const out = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

function csvCell(value) {
  const s = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
  // a leading =,+,-,@ would be a formula in a spreadsheet: quote-prefix it
  const safe = /^[=@]/.test(s) || (/^[+-]/.test(s) && !/^\+?\d+$/.test(s)) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** failures: [{job_id, number, error: {code, error, message, cause}}] → CSV text. */
export function failuresCsv(failures) {
  const lines = [["number", "job_id", "code", "error", "message", "cause"].join(",")];
  for (const f of failures) {
    const e = f.error && typeof f.error === "object" ? f.error : { message: f.error };
    lines.push([f.number, f.job_id, e.code, e.error, e.message, e.cause].map(csvCell).join(","));
  }
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
