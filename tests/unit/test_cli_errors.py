import errno

from kazoo_crossbar.cli import _secrets
from kazoo_crossbar.cli_errors import CliError, describe, redact_url
from kazoo_crossbar.storage.couch import CouchError


def test_redact_url():
    assert redact_url("http://admin:s3cret@couch:5984/") == "http://admin:***@couch:5984/"
    assert redact_url("http://couch:5984") == "http://couch:5984"


def test_describe_is_one_line_with_what_to_do():
    cases = [
        (CliError("said plainly"), "said plainly"),
        (CouchError(401, "unauthorized", "Name or password is incorrect."), "check the user and password"),
        (FileNotFoundError(errno.ENOENT, "No such file", "n.csv"), "n.csv: no such file"),
        (OSError(errno.EADDRINUSE, "Address in use"), "address already in use"),
        (RuntimeError("boom"), "--debug"),
    ]
    for exc, fragment in cases:
        text = describe(exc)
        assert fragment in text and "\n" not in text


def test_secrets_found_in_argv():
    argv = ["jobs", "--api-key", "K1", "--api-key=K2", "--admin-password", "P", "--couchdb-url", "http://a:b@h:1"]
    assert set(_secrets(argv)) == {"K1", "K2", "P", "http://a:b@h:1"}
