import pytest

from kazoo_crossbar.jobs_cli import failure_reason, read_numbers


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
    with pytest.raises(SystemExit):
        read_numbers(p)


def test_failure_reasons():
    assert failure_reason("not_reconcilable") == "not_reconcilable"
    assert failure_reason({"code": 409, "error": "number_exists"}) == "number_exists"
    assert failure_reason({"reason": "error"}) == "error"
