"""The number-file reader: docs/number-files.md is its specification, and the console's
`ui/numberfile.js` implements the same one. Both pass the test vectors in
`tests/fixtures/number_files/`. Pure: text in, numbers and skipped rows out.

In short: UTF-8 text (a BOM is dropped), rows split on CRLF, LF or CR outside quotes, fields
split on the delimiter the first row uses most (`,` `;` or tab, else none) with RFC 4180
quoting. The number column is the first header cell named like a number (`Phone Number`,
`E.164`, `DID`, …); without such a header, the first column, and the first row is data. A
cell is cleaned of separators, converted with Kazoo's `e164_converters` and must match its
`reconcile_regex` (knm_converters); every row that gives no number is reported with its line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..jobs import numbers as knm

DELIMITERS = (",", ";", "\t")
# Header cells, lower-cased with everything but letters and digits removed.
HEADER_NAMES = frozenset(
    {
        "number",
        "numbers",
        "phone",
        "phones",
        "phonenumber",
        "phonenumbers",
        "telephone",
        "telephonenumber",
        "tel",
        "did",
        "dids",
        "didnumber",
        "didnumbers",
        "e164",
        "e164number",
        "e164numbers",
        "msisdn",
        "tn",
    }
)
# What people and spreadsheets put between digits: spaces (also no-break), ( ) - . / and the
# Unicode dashes. A leading ' is a spreadsheet's "text" marker (and what a failures CSV adds).
SEPARATORS = re.compile(r"[ \t\n\r\f\v\u00a0\u2010-\u2015()\-./]")
WS = " \t\n\r\f\v\u00a0"  # white space is these only (str.strip() and JavaScript's trim() differ)
DIGITS = re.compile(r"^\+?[0-9]+$")
MAX_LENGTH = 64  # a job's `numbers` entries (resource_jobs schema maxLength)
SHOWN = 80  # a skipped cell is reported with at most this many characters, then "…"

MESSAGES = {
    "no_number": "the number column is empty",
    "not_a_number": "not a phone number: only digits, a leading + and the separators ( ) - . / and spaces may appear",
    "too_long": f"longer than {MAX_LENGTH} characters",
    "not_reconcilable": "Kazoo's number manager would refuse it: {e164} does not match reconcile_regex",
    "duplicate": "the same number as line {first}",
    "missing_column": "the row has no column {column}",
    "unterminated_quote": "a quoted field opens on this line and never closes: lines {line}-{last} are one cell",
}


@dataclass(frozen=True)
class Row:
    line: int  # the physical line (1-based) the row starts on
    cells: list[str]
    unterminated: bool = False  # a quoted field ran to the end of the text
    last_line: int = 0


@dataclass
class Skipped:
    line: int
    value: str
    reason: str
    message: str


@dataclass
class NumberFile:
    column: int = 0
    header: str | None = None  # the header cell naming the column, when a header row was found
    header_line: int | None = None
    delimiter: str | None = None
    numbers: list[tuple[int, str]] = field(default_factory=list)  # (line, E.164)
    skipped: list[Skipped] = field(default_factory=list)
    blank_lines: int = 0

    def as_json(self) -> dict[str, Any]:
        """The shape of the test vectors (tests/fixtures/number_files/*.expected.json)."""
        return {
            "column": self.column,
            "header": self.header,
            "header_line": self.header_line,
            "delimiter": self.delimiter,
            "numbers": [[line, number] for line, number in self.numbers],
            "skipped": [asdict(s) for s in self.skipped],
            "blank_lines": self.blank_lines,
        }


def choose_delimiter(text: str) -> str | None:
    """The delimiter the first non-blank line uses most, outside quotes (ties: , then ; then tab)."""
    first = next((line for line in re.split(r"\r\n|\r|\n", text) if line.strip(WS)), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals
    return best if counts[best] else None


def rows(text: str, delimiter: str | None) -> list[Row]:
    """RFC 4180 records, as Python's csv module reads them (doublequote, not strict): a field is
    quoted when it starts with `"`; `""` inside is one quote; text after the closing quote is
    kept; line breaks inside quotes belong to the field. Each row knows the line it starts on."""
    out: list[Row] = []
    cells: list[str] = []
    cell: list[str] = []
    line, start = 1, 1
    state = "start"  # start | plain | quoted | after_quote
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if state == "quoted":
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    cell.append('"')
                    i += 1
                else:
                    state = "after_quote"
            else:
                if ch == "\n" or (ch == "\r" and not (i + 1 < n and text[i + 1] == "\n")):
                    line += 1
                cell.append(ch)
        elif ch in "\r\n":
            cells.append("".join(cell))
            out.append(Row(start, cells, last_line=line))
            cells, cell, state = [], [], "start"
            if ch == "\r" and i + 1 < n and text[i + 1] == "\n":
                i += 1
            line += 1
            start = line
        elif delimiter is not None and ch == delimiter:
            cells.append("".join(cell))
            cell, state = [], "start"
        elif ch == '"' and state == "start":
            state = "quoted"
        else:
            cell.append(ch)
            state = "plain" if state == "start" else state
        i += 1
    if state == "quoted":
        cells.append("".join(cell))
        last = line - 1 if text.endswith(("\n", "\r")) else line  # a final line end opens no line
        out.append(Row(start, cells, unterminated=True, last_line=last))
    elif cells or cell or state != "start":
        cells.append("".join(cell))
        out.append(Row(start, cells, last_line=line))
    return out


def header_key(cell: str) -> str:
    return re.sub(r"[^a-z0-9]", "", cell.lower())


def clean(cell: str) -> str:
    value = cell.strip(WS)
    if value.startswith("'"):
        value = value[1:]
    return SEPARATORS.sub("", value)


def read(text: str, rules: knm.Rules | None = None) -> NumberFile:
    """Numbers (E.164, in file order, each once) and the rows that gave none, with their reasons."""
    rules = rules or knm.Rules.from_config(None, None)
    if text.startswith("\ufeff"):
        text = text[1:]
    result = NumberFile(delimiter=choose_delimiter(text))
    records = rows(text, result.delimiter)
    data = [r for r in records if any(c.strip(WS) for c in r.cells) or r.unterminated]
    result.blank_lines = len(records) - len(data)
    if data and not data[0].unterminated:
        named = [i for i, c in enumerate(data[0].cells) if header_key(c) in HEADER_NAMES]
        if named:
            result.column, result.header, result.header_line = named[0], data[0].cells[named[0]].strip(WS), data[0].line
            data = data[1:]
    seen: dict[str, int] = {}
    for row in data:
        reason: str | None
        extra: dict[str, Any]
        value = row.cells[result.column] if result.column < len(row.cells) else None
        shown = (value if value is not None else "").strip(WS)
        shown = shown if len(shown) <= SHOWN else shown[:SHOWN] + "…"
        if row.unterminated:
            reason, extra = "unterminated_quote", {"last": row.last_line}
        elif value is None:
            reason, extra = "missing_column", {"column": result.header or result.column + 1}
        else:
            reason, extra = judge(clean(value), rules, seen)
        if reason:
            message = MESSAGES[reason].format(line=row.line, **extra)
            result.skipped.append(Skipped(row.line, shown, reason, message))
        else:
            e164 = str(extra["e164"])
            seen[e164] = row.line
            result.numbers.append((row.line, e164))
    return result


def judge(cleaned: str, rules: knm.Rules, seen: dict[str, int]) -> tuple[str | None, dict[str, Any]]:
    """(reason, details) for a cleaned cell; no reason: details["e164"] is the number."""
    if not cleaned:
        return "no_number", {}
    if not DIGITS.match(cleaned):
        return "not_a_number", {}
    if len(cleaned) > MAX_LENGTH:
        return "too_long", {}
    e164 = knm.normalize(cleaned, rules)
    if not rules.reconcile.search(e164):  # re:run searches, as JavaScript's test() does
        return "not_reconcilable", {"e164": e164}
    if e164 in seen:
        return "duplicate", {"first": seen[e164]}
    return None, {"e164": e164}
