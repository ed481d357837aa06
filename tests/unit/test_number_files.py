"""The Python number-file reader and failures CSV against the shared test vectors
(tests/fixtures/number_files/, docs/number-files.md); tests/browser/test_number_files_in_console.py runs
the console's reader over the same files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from kazoo_crossbar.client import number_file
from kazoo_crossbar.client.failures import failures_csv, job_failure, skipped_row
from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.storage.system_config import shipped_defaults

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "number_files"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in VECTORS.glob("*.expected.json"))


def shipped_rules() -> knm.Rules:
    config = shipped_defaults()["number_manager"]["default"]
    return knm.Rules.from_config(config["e164_converters"], config["reconcile_regex"])


def decoded(name: str) -> str:
    return (VECTORS / name).read_bytes().decode("utf-8", "replace")


def test_there_are_vectors_for_every_case_of_the_issue():
    assert {"order_id_lrn.csv", "issue_2000_rows.csv", "formatted.txt", "number_only_header.csv"} <= set(NAMES)
    assert {"phone_number_header.csv", "bom_crlf.csv", "quoted.csv", "empty_lines.txt"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_vector(name):
    expected = json.loads((VECTORS / f"{name}.expected.json").read_text())
    assert number_file.read(decoded(name), shipped_rules()).as_json() == expected


def test_the_2000_row_file_reports_its_15_unreadable_rows():
    got = number_file.read(decoded("issue_2000_rows.csv"), shipped_rules())
    assert len(got.numbers) == 1985 and len(got.skipped) == 15
    assert len(got.numbers) + len(got.skipped) == 2000  # no row unaccounted for
    assert all(n.startswith("+1646") for _, n in got.numbers)  # never an order id or an LRN


def test_the_default_rules_are_the_shipped_system_config():
    rules = shipped_rules()
    assert rules.reconcile.pattern == knm.DEFAULT_RECONCILE
    assert number_file.read("6465550100\n").numbers == number_file.read("6465550100\n", rules).numbers


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("quoted.csv",)])
def test_rows_and_cells_are_what_pythons_csv_module_reads(name):
    """The hand-written tokenizer (written twice, here and in ui/numberfile.js, so both behave
    alike) agrees with the standard library wherever the file's quotes are closed."""
    text = decoded(name).removeprefix("\ufeff")
    delimiter = number_file.choose_delimiter(text)
    ours = [r.cells for r in number_file.rows(text, delimiter)]
    theirs = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or "\0") if r]
    assert [c for c in ours if c != [""]] == theirs


def test_quoted_fields_agree_with_the_csv_module_up_to_the_unclosed_quote():
    text = decoded("quoted.csv")
    ours = [r.cells for r in number_file.rows(text, ",")]
    closed = text[: text.index('"+16465550103')]
    assert ours[:-1] == list(csv.reader(io.StringIO(closed, newline="")))


def test_line_numbers_follow_physical_lines_through_quoted_line_breaks():
    got = number_file.read('number,note\n+16465550100,"a\r\nb\rc"\n+16465550101,d\n')
    assert got.numbers == [(2, "+16465550100"), (5, "+16465550101")]


def test_failures_csv_vector():
    spec = json.loads((VECTORS / "failures.json").read_text())
    rows = []
    for row in spec["rows"]:
        if row["kind"] == "job":
            rows.append(job_failure(row["number"], row["error"], row["job_id"], row["line"]))
        else:
            skipped = number_file.Skipped(row["line"], row["value"], row["reason"], row["message"])
            rows.append(skipped_row(skipped))
    assert failures_csv(rows) == spec["csv"]


def test_a_failures_csv_reads_back_with_its_numbers():
    rows = [job_failure("+16465550100", "not_reconcilable", "j", 2), job_failure("6465550101", {"error": "x"}, "j")]
    got = number_file.read(failures_csv(rows))
    assert got.header == "number" and got.numbers == [(2, "+16465550100"), (3, "+16465550101")]
