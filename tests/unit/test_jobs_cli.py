import io

import pytest

from kazoo_crossbar.cli import parser
from kazoo_crossbar.cli_errors import CliError
from kazoo_crossbar.jobs_cli import Progress, failure_reason, read_numbers, write_failures


def test_read_plain_lines(tmp_path):
    p = tmp_path / "n.txt"
    p.write_text("\ufeff+12223334444\n\n 2223334445 \n")
    assert read_numbers(p) == ["+12223334444", "2223334445"]


def test_read_csv_with_number_column(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("id;E164;note\n1;+12223334444;a\n2;;b\n3;+12223334446;c\n")
    assert read_numbers(p) == ["+12223334444", "+12223334446"]


def test_csv_without_number_column(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(CliError, match="no number column"):
        read_numbers(p)


def test_missing_file(tmp_path):
    with pytest.raises(CliError, match="no such file"):
        read_numbers(tmp_path / "nope.txt")


def test_failure_reasons():
    assert failure_reason("not_reconcilable") == "not_reconcilable"
    assert failure_reason({"code": 409, "error": "number_exists"}) == "number_exists"
    assert failure_reason({"reason": "error"}) == "error"


def test_options_before_or_after_the_action():
    before = parser().parse_args(["jobs", "--url", "http://a:1", "--api-key", "K", "show", "J"])
    after = parser().parse_args(["jobs", "show", "J", "--url", "http://a:1", "--api-key", "K"])
    for args in (before, after):
        assert (args.url, args.api_key, args.job_id) == ("http://a:1", "K", "J")
    default = parser().parse_args(["jobs", "list"])
    assert default.url.startswith("http") and default.api_key is None
    add = parser().parse_args(["jobs", "add", "--resource", "r", "f.csv"])
    assert add.chunk == 10_000 and add.failures is None


def test_failures_csv():
    out = io.StringIO()
    write_failures(
        out,
        [
            {"number": "+12223334444", "reason": "number_exists", "message": 'a, "quoted" one'},
            {"number": "12", "reason": "not_reconcilable", "message": ""},
        ],
    )
    assert out.getvalue().splitlines() == [
        "number,reason,message",
        '+12223334444,number_exists,"a, ""quoted"" one"',
        "12,not_reconcilable,",
    ]


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
