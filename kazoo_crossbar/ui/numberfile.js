// The number-file reader (docs/number-files.md), the same specification as the CLI's
// kazoo_crossbar/client/number_file.py; both pass tests/fixtures/number_files/. Pure: text in,
// numbers (E.164, each once, with their line) and every skipped row with its line and reason out.

const DELIMITERS = [",", ";", "\t"];
// Header cells, lower-cased with everything but letters and digits removed.
const HEADER_NAMES = new Set(["number", "numbers", "phone", "phones", "phonenumber", "phonenumbers",
  "telephone", "telephonenumber", "tel", "did", "dids", "didnumber", "didnumbers", "e164", "e164number",
  "e164numbers", "msisdn", "tn"]);
// Spaces (also no-break), ( ) - . / and the Unicode dashes: what people put between digits.
const SEPARATORS = /[ \t\n\r\f\v\u00a0\u2010-\u2015()\-./]/g;
// White space is these characters only (the same set as the Python reader's).
const EDGES = /^[ \t\n\r\f\v\u00a0]+|[ \t\n\r\f\v\u00a0]+$/g;
export function trimWs(text) {
  return text.replace(EDGES, "");
}
const DIGITS = /^\+?[0-9]+$/;
export const MAX_LENGTH = 64; // a job's `numbers` entries (resource_jobs schema maxLength)
const SHOWN = 80;

export const MESSAGES = {
  no_number: "the number column is empty",
  not_a_number: "not a phone number: only digits, a leading + and the separators ( ) - . / and spaces may appear",
  too_long: `longer than ${MAX_LENGTH} characters`,
  not_reconcilable: "Kazoo's number manager would refuse it: {e164} does not match reconcile_regex",
  duplicate: "the same number as line {first}",
  missing_column: "the row has no column {column}",
  unterminated_quote: "a quoted field opens on this line and never closes: lines {line}-{last} are one cell",
};

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
}

/**
 * Kazoo's number_manager rules (e164_converters, reconcile_regex) compiled; the converters in
 * their JSON order. Throws when a regex does not compile here (the caller falls back to defaults).
 */
export function compileRules(config) {
  const converters = Object.entries((config && config.e164_converters) || {})
    .filter(([, v]) => v && typeof v === "object")
    .map(([regex, v]) => ({ regex: new RegExp(regex), prefix: String(v.prefix ?? ""), suffix: String(v.suffix ?? "") }));
  return { converters, reconcile: new RegExp(String((config && config.reconcile_regex) || "")) };
}

/** knm_converter_regex:to_e164/1: `+…` kept; else prefix + the last capture that took part + suffix. */
export function normalize(entry, rules) {
  if (entry.startsWith("+")) return entry;
  for (const { regex, prefix, suffix } of rules.converters) {
    const m = regex.exec(entry);
    if (!m) continue;
    let last = m.length - 1;
    while (last > 0 && m[last] === undefined) last -= 1;
    return prefix + m[last] + suffix;
  }
  return entry;
}

export function chooseDelimiter(text) {
  const first = text.split(/\r\n|\r|\n/).find((line) => trimWs(line)) || "";
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const ch of first) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch] += 1;
  }
  let best = DELIMITERS[0];
  for (const d of DELIMITERS) if (counts[d] > counts[best]) best = d;
  return counts[best] ? best : null;
}

/** RFC 4180 records as Python's csv module reads them; each knows the line it starts on. */
export function rows(text, delimiter) {
  const out = [];
  let cells = [];
  let cell = "";
  let line = 1;
  let start = 1;
  let state = "start"; // start | plain | quoted | after_quote
  const n = text.length;
  for (let i = 0; i < n; i += 1) {
    const ch = text[i];
    if (state === "quoted") {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else {
          state = "after_quote";
        }
      } else {
        if (ch === "\n" || (ch === "\r" && text[i + 1] !== "\n")) line += 1;
        cell += ch;
      }
    } else if (ch === "\r" || ch === "\n") {
      cells.push(cell);
      out.push({ line: start, cells, unterminated: false, lastLine: line });
      cells = [];
      cell = "";
      state = "start";
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      line += 1;
      start = line;
    } else if (delimiter !== null && ch === delimiter) {
      cells.push(cell);
      cell = "";
      state = "start";
    } else if (ch === '"' && state === "start") {
      state = "quoted";
    } else {
      cell += ch;
      if (state === "start") state = "plain";
    }
  }
  if (state === "quoted") {
    cells.push(cell);
    const last = /[\r\n]$/.test(text) ? line - 1 : line; // a final line end opens no line
    out.push({ line: start, cells, unterminated: true, lastLine: last });
  } else if (cells.length || cell || state !== "start") {
    cells.push(cell);
    out.push({ line: start, cells, unterminated: false, lastLine: line });
  }
  return out;
}

export function headerKey(cell) {
  return cell.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export function clean(cell) {
  let value = trimWs(cell);
  if (value.startsWith("'")) value = value.slice(1);
  return value.replace(SEPARATORS, "");
}

function judge(cleaned, rules, seen) {
  if (!cleaned) return ["no_number", {}];
  if (!DIGITS.test(cleaned)) return ["not_a_number", {}];
  if (cleaned.length > MAX_LENGTH) return ["too_long", {}];
  const e164 = normalize(cleaned, rules);
  if (!rules.reconcile.test(e164)) return ["not_reconcilable", { e164 }];
  if (seen.has(e164)) return ["duplicate", { first: seen.get(e164) }];
  return [null, { e164 }];
}

/**
 * Read pasted text or a file's text. Returns {column, header, header_line, delimiter,
 * numbers: [[line, e164]], skipped: [{line, value, reason, message}], blank_lines}.
 */
export function readNumbers(input, rules) {
  let text = String(input);
  if (text.startsWith("\ufeff")) text = text.slice(1);
  const result = { column: 0, header: null, header_line: null, delimiter: chooseDelimiter(text), numbers: [], skipped: [], blank_lines: 0 };
  const records = rows(text, result.delimiter);
  let data = records.filter((r) => r.unterminated || r.cells.some((c) => trimWs(c)));
  result.blank_lines = records.length - data.length;
  if (data.length && !data[0].unterminated) {
    const named = data[0].cells.findIndex((c) => HEADER_NAMES.has(headerKey(c)));
    if (named >= 0) {
      result.column = named;
      result.header = trimWs(data[0].cells[named]);
      result.header_line = data[0].line;
      data = data.slice(1);
    }
  }
  const seen = new Map();
  for (const row of data) {
    const value = result.column < row.cells.length ? row.cells[result.column] : null;
    let shown = trimWs(value ?? "");
    const chars = Array.from(shown); // code points, as Python counts them
    if (chars.length > SHOWN) shown = `${chars.slice(0, SHOWN).join("")}…`;
    let reason;
    let extra;
    if (row.unterminated) [reason, extra] = ["unterminated_quote", { last: row.lastLine }];
    else if (value === null) [reason, extra] = ["missing_column", { column: result.header ?? result.column + 1 }];
    else [reason, extra] = judge(clean(value), rules, seen);
    if (reason) {
      result.skipped.push({ line: row.line, value: shown, reason, message: format(MESSAGES[reason], { line: row.line, ...extra }) });
    } else {
      seen.set(extra.e164, row.line);
      result.numbers.push([row.line, extra.e164]);
    }
  }
  return result;
}
