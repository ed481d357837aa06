import io

import pytest

from kazoo_crossbar.cli import parser
from kazoo_crossbar.cli_errors import CliError
from kazoo_crossbar.jobs_cli import Progress, parse_when, read_file, shipped_rules, to_iso


def test_the_file_is_read_as_docs_number_files_says(tmp_path):
    """The vectors (tests/unit/test_number_files.py) cover the reader; here: the CLI's bytes path."""
    p = tmp_path / "n.csv"
    p.write_bytes("\ufeffPhone Number;note\r\n(646) 555-0100;a\r\n\xff\xfe;b\r\n".encode("utf-8", "surrogateescape"))
    read = read_file(p, shipped_rules())
    assert read.numbers == [(2, "+16465550100")]
    assert [(s.line, s.reason) for s in read.skipped] == [(3, "not_a_number")]  # not UTF-8: never guessed


def test_missing_file(tmp_path):
    with pytest.raises(CliError, match="no such file"):
        read_file(tmp_path / "nope.txt", shipped_rules())


def test_dates_in_iso_8601_or_gregorian_seconds():
    assert parse_when("63910684800") == 63910684800
    assert parse_when("2025-04-01") == 63910684800 and to_iso(63910684800) == "2025-04-01T00:00:00Z"
    assert parse_when("2025-04-01", end_of_day=True) == 63910684800 + 86399
    assert parse_when("2025-04-01T10:00:00Z") == 63910684800 + 36000
    assert parse_when("2025-04-01T12:00:00+02:00") == 63910684800 + 36000
    with pytest.raises(Exception, match="not a date"):
        parse_when("yesterday")
    assert to_iso("x") is None and to_iso(True) is None


def test_options_before_or_after_the_action():
    before = parser().parse_args(["jobs", "--url", "http://a:1", "--api-key", "K", "show", "J"])
    after = parser().parse_args(["jobs", "show", "J", "--url", "http://a:1", "--api-key", "K"])
    for args in (before, after):
        assert (args.url, args.api_key, args.job_id) == ("http://a:1", "K", "J")
    default = parser().parse_args(["jobs", "list"])
    assert default.url.startswith("http") and default.api_key is None
    add = parser().parse_args(["jobs", "add", "--resource", "r", "f.csv"])
    assert add.chunk is None and add.failures is None  # the shipped job_max_numbers, else the server's answer


def test_plain_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(30, stream)
    for done, failed in ((0, 0), (10, 1), (10, 1), (30, 2)):
        progress.update(done, failed)
    progress.close()
    assert progress.bar is None
    assert stream.getvalue().splitlines() == [
        "progress: 0/30 numbers done, 0 failed",
        "progress: 10/30 numbers done, 1 failed",
        "progress: 30/30 numbers done, 2 failed",
    ]
