import pytest

from kazoo_crossbar.http import body, listing
from kazoo_crossbar.http.errors import ApiError
from kazoo_crossbar.http.pipeline import split_nouns, split_path


def test_query_rules():
    q = body.parse_query("a=1&a=2&flag&_=123&filter_name=x%20y&b=")
    assert q == {"a": "1", "flag": True, "_": "123", "filter_name": "x y", "b": ""}


def test_empty_body_is_empty_data():
    assert body.parse_envelope(b"", "application/json") == ({}, {})
    assert body.parse_envelope(b"  \n", "") == ({}, {})


def test_envelope_keys_are_normalised():
    env, data = body.parse_envelope(b'{"Data":{"a":1},"Auth-Token":"t","verb":null}', "application/json")
    assert env == {"data": {"a": 1}, "auth_token": "t"} and data == {"a": 1}


def test_form_content_type_with_json_body():
    _env, data = body.parse_envelope(b'{"data":{"x":"y"}}', "application/x-www-form-urlencoded")
    assert data == {"x": "y"}


def test_form_fields_fail_the_data_check():
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(b"a=1&b=2", "application/x-www-form-urlencoded")
    assert exc.value.code == 400 and "data" in exc.value.data


def test_other_content_types_are_files():
    assert body.parse_envelope(b"hello", "text/plain") == ({}, {})


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"{bad", "invalid_json around 2"),
        (b"[1,2]", "All JSON must be valid"),
        (b"\xff\xfe", "invalid_string around 1"),
    ],
)
def test_invalid_json(raw, message):
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(raw, "application/json")
    assert exc.value.code == 400 and exc.value.message == "validation error"
    assert exc.value.data == {"json": {"invalid": {"message": message, "target": "body"}}}


def test_missing_and_mistyped_data():
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(b"{}", "application/json")
    assert exc.value.data == {"data": {"required": {"message": "Field is required but missing", "value": {}}}}
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(b'{"data":"x"}', "application/json")
    assert exc.value.data["data"]["type"]["target"] == "object, array"


def test_path_split_and_double_decoding():
    assert split_path("/v2/accounts/abc/resources/") == ("v2", ["accounts", "abc", "resources"])
    assert split_path("/v2/resources/a%252Fb?x=1") == ("v2", ["resources", "a/b"])
    assert split_path("/") == (None, [])
    assert split_path("/accounts")[0] is None


def test_nouns():
    known = {"accounts", "resources"}
    assert split_nouns(["accounts", "A", "resources", "x"], known) == [("accounts", ["A"]), ("resources", ["x"])]
    assert split_nouns(["nope", "resources"], known) is None


DOC = {
    "name": "Carrier",
    "enabled": True,
    "weight_cost": 50,
    "flags": [],
    "gateways": [{"server": "a"}],
    "pvt_created": 100,
    "pvt_modified": 200,
    "nested": {"k": "v"},
}


@pytest.mark.parametrize(
    "filters,expected",
    [
        ({"filter_name": "Carrier"}, True),
        ({"filter_name": "Other"}, False),
        ({"filter_name": '["Other","Carrier"]'}, True),
        ({"filter_enabled": "true"}, True),
        ({"filter_weight_cost": "50"}, True),
        ({"filter_not_name": "Carrier"}, False),
        ({"filter_not_missing": "x"}, True),
        ({"filter_nested.k": "v"}, True),
        ({"has_key": "nested.k"}, True),
        ({"has_key": "nope"}, False),
        ({"key_missing": "nope"}, True),
        ({"has_value": "flags"}, False),
        ({"value_missing": "flags"}, True),
        ({"created_from": "100", "created_to": "100"}, True),
        ({"created_from": "101"}, False),
        ({"modified_to": "199"}, False),
        ({"modified_from": "abc"}, False),
    ],
)
def test_filters(filters, expected):
    assert listing.matches(DOC, filters) is expected


def test_filters_of_ignores_other_params():
    assert listing.filters_of({"_": "1", "page_size": "5", "filter_x": "1", "has_key": "a"}) == {
        "filter_x": "1",
        "has_key": "a",
    }


@pytest.mark.parametrize("depth", [65, 100_000])
def test_too_deep_json_is_a_400(depth):
    raw = b'{"data":' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(raw, "application/json")
    assert exc.value.code == 400 and exc.value.data["json"]["invalid"]["message"] == "nesting too deep"


def test_reasonable_nesting_is_fine():
    raw = b'{"data":{"a":' + b"[" * 30 + b"]" * 30 + b"}}"
    value: list = []
    for _ in range(29):
        value = [value]
    assert body.parse_envelope(raw, "application/json")[1] == {"a": value}
