import pytest

from kazoo_crossbar.http import startkey

# Vectors from Kazoo's basics.md, via the conventions spec §8.3.
VECTORS = [
    ([63691980222, "98016800"], "g2wAAAACbgUAvn1W1A5tAAAACDk4MDE2ODAwag"),
    ([63692031599, {}], "g2wAAAACbgUAb0ZX1A5oAWpq"),
    ("6b71cb72c876b5b1396a335f8f8a2594", "g20AAAAgNmI3MWNiNzJjODc2YjViMTM5NmEzMzVmOGY4YTI1OTQ"),
    (["abc", 5], "g2wAAAACbQAAAANhYmNhBWo"),
]


@pytest.mark.parametrize("key,encoded", VECTORS)
def test_kazoo_vectors(key, encoded):
    assert startkey.encode(key) == encoded
    assert startkey.decode(encoded) == key


@pytest.mark.parametrize(
    "key", [[1, 2, 255], -5, 300, 2**40, -(2**40), 1.5, True, None, "é€", {"a": [False, None]}, [], [[1], "x"]]
)
def test_round_trip(key):
    assert startkey.decode(startkey.encode(key)) == key


def test_small_int_list_is_string_ext():
    assert startkey.encode([1, 2]) == "g2sAAgEC"


def test_atoms_use_atom_ext():
    import base64

    raw = base64.urlsafe_b64decode(startkey.encode(True) + "==")
    assert raw == b"\x83d\x00\x04true"


@pytest.mark.parametrize("raw", ["plain-id", "g2wAAAAC", "!!!", "g3EAAAAB", "", "g2gCYQFhAg"])
def test_undecodable_falls_back_to_raw_string(raw):
    assert startkey.decode(raw) == raw
