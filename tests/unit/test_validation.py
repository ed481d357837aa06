"""Unit tests for kazoo_crossbar.validation: schema defaults, Kazoo's error shape, the JS-type fix-up."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft4Validator

from kazoo_crossbar import validation
from kazoo_crossbar.validation import (
    SchemaNotFound,
    error_key,
    kazoo_validation_error,
    load_schema,
    merge_errors,
    validate,
    validate_with,
)

MINIMAL = {"name": "X", "gateways": [{"server": "1.2.3.4"}]}

# spec §3.2: what a minimal resource becomes
MINIMAL_WITH_DEFAULTS = {
    "name": "X",
    "enabled": True,
    "emergency": False,
    "weight_cost": 50,
    "grace_period": 5,
    "flags": [],
    "rules": [],
    "rules_test": [],
    "from_account_realm": False,
    "gateways": [
        {
            "server": "1.2.3.4",
            "enabled": True,
            "endpoint_type": "sip",
            "invite_format": "route",
            "channel_selection": "ascending",
            "force_port": False,
            "port": 5060,
            "skype_rr": True,
        }
    ],
}

SHIPPED = [
    "api_auth",
    "custom_sip_headers",
    "endpoint.media",
    "formatters",
    "formatters.format_options",
    "resource_jobs",
    "resources",
    "resources.gateways",
    "user_auth",
]


def resource(**top) -> dict:
    return {**copy.deepcopy(MINIMAL), **top}


def gateway(**fields) -> dict:
    return {"name": "X", "gateways": [{"server": "1.2.3.4", **fields}]}


def ok(name: str, data) -> dict:
    doc, errors = validate(name, data)
    assert errors == {}, errors
    return doc


def errors_of(name: str, data, **kw) -> dict:
    _, errors = validate(name, data, **kw)
    assert errors, "expected validation errors"
    return errors


# ---------------------------------------------------------------- the schema files


def test_every_schema_file_is_draft4_with_its_stem_as_id():
    assert validation.schema_names() == sorted(SHIPPED)
    for name in SHIPPED:
        schema = load_schema(name)
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        assert schema["id"] == name
        Draft4Validator.check_schema(schema)


def test_load_schema_returns_a_private_copy():
    load_schema("resources")["properties"].clear()
    assert "name" in load_schema("resources")["properties"]
    assert ok("resources", MINIMAL)["weight_cost"] == 50


def test_resources_refs_point_at_the_other_files():
    props = load_schema("resources")["properties"]
    assert props["gateways"]["items"] == {"$ref": "resources.gateways"}
    assert props["media"] == {"$ref": "endpoint.media"}
    assert props["formatters"] == {"$ref": "formatters"}
    assert "additionalProperties" not in load_schema("resources")


@pytest.mark.parametrize("name", ["nope", "../resources", "resources.json", "", "/etc/passwd"])
def test_unknown_schema_is_reported(name):
    with pytest.raises(SchemaNotFound) as exc:
        validate(name, {})
    assert str(exc.value) == f"schema {name} not found."


# ---------------------------------------------------------------- defaults


def test_minimal_resource_gets_exactly_kazoos_defaults():
    doc = ok("resources", MINIMAL)
    assert doc == MINIMAL_WITH_DEFAULTS
    assert doc["gateways"][0] == MINIMAL_WITH_DEFAULTS["gateways"][0]
    # absent objects without a default of their own are not created
    for absent in ("media", "caller_id_options", "classifiers", "formatters", "cid_rules"):
        assert absent not in doc
    for absent in ("media", "custom_sip_headers", "invite_parameters", "codecs"):
        assert absent not in doc["gateways"][0]


def test_caller_data_is_not_modified():
    data = resource(weight_cost="50")
    before = copy.deepcopy(data)
    doc, errors = validate("resources", data)
    assert errors == {} and doc["weight_cost"] == 50
    assert data == before


def test_defaults_are_not_shared_between_documents():
    first = ok("resources", MINIMAL)
    first["flags"].append("dirty")
    first["gateways"][0]["server"] = "changed"
    second = ok("resources", MINIMAL)
    assert second["flags"] == [] and second["gateways"][0]["server"] == "1.2.3.4"
    with_media = ok("resources", resource(media={}))
    with_media["media"]["encryption"]["methods"].append("srtp")
    assert ok("resources", resource(media={}))["media"]["encryption"]["methods"] == []


def test_given_values_win_over_defaults():
    doc = ok(
        "resources",
        {
            "name": "X",
            "enabled": False,
            "weight_cost": 0,
            "flags": ["a"],
            "gateways": [{"server": "s", "port": 5080, "enabled": False}],
        },
    )
    assert doc["enabled"] is False and doc["weight_cost"] == 0 and doc["flags"] == ["a"]
    assert doc["gateways"][0]["port"] == 5080 and doc["gateways"][0]["enabled"] is False


def test_every_gateway_gets_defaults():
    doc = ok("resources", {"name": "X", "gateways": [{"server": "a"}, {"server": "b", "invite_format": "e164"}]})
    assert [g["invite_format"] for g in doc["gateways"]] == ["route", "e164"]
    assert all(g["port"] == 5060 and g["skype_rr"] is True for g in doc["gateways"])


def test_media_defaults_only_when_media_is_present():
    assert "media" not in ok("resources", MINIMAL)
    assert ok("resources", resource(media={}))["media"] == {
        "audio": {},
        "video": {"codecs": []},
        "encryption": {"enforce_security": False, "methods": []},
    }
    doc = ok(
        "resources",
        resource(
            media={
                "audio": {"codecs": ["PCMU"]},
                "video": {"codecs": ["H264"]},
                "encryption": {"methods": ["srtp"]},
                "bypass_media": "auto",
            }
        ),
    )
    assert doc["media"] == {
        "audio": {"codecs": ["PCMU"]},
        "video": {"codecs": ["H264"]},
        "encryption": {"enforce_security": False, "methods": ["srtp"]},
        "bypass_media": "auto",
    }


def test_classifier_items_get_defaults():
    doc = ok(
        "resources", resource(classifiers={"tollfree_us": {}, "international": {"weight_cost": 10, "enabled": False}})
    )
    assert doc["classifiers"] == {
        "tollfree_us": {"emergency": False, "enabled": True, "weight_cost": 50},
        "international": {"emergency": False, "enabled": False, "weight_cost": 10},
    }


def test_user_auth_method_defaults_to_md5():
    assert ok("user_auth", {"credentials": "ab" * 16, "account_name": "A"}) == {
        "credentials": "ab" * 16,
        "account_name": "A",
        "method": "md5",
    }
    assert ok("user_auth", {"credentials": "ab", "method": "sha"})["method"] == "sha"


def test_defaults_follow_refs_in_adhoc_schemas():
    doc, errors = validate_with(
        {"type": "object", "properties": {"m": {"$ref": "endpoint.media"}, "n": {"$ref": "endpoint.media"}}}, {"m": {}}
    )
    assert errors == {} and doc == {
        "m": {"audio": {}, "video": {"codecs": []}, "encryption": {"enforce_security": False, "methods": []}}
    }


# ---------------------------------------------------------------- error codes and shapes


def test_required_at_top_level():
    assert errors_of("resources", {}) == {
        "name": {"required": {"message": "Field is required but missing", "value": "name"}},
        "gateways": {"required": {"message": "Field is required but missing", "value": "gateways"}},
    }


def test_required_in_a_gateway_uses_the_nested_path():
    errors = errors_of("resources", {"name": "X", "gateways": [{"server": "ok"}, {"port": 5060}]})
    assert errors == {
        "gateways.1.server": {"required": {"message": "Field is required but missing", "value": "server"}}
    }


def test_type():
    assert errors_of("resources", resource(weight_cost="abc")) == {
        "weight_cost": {
            "type": {"message": "Value did not match type(s): integer", "target": "integer", "value": "abc"}
        }
    }
    assert errors_of("resources", {"name": 5, "gateways": {}}) == {
        "name": {"type": {"message": "Value did not match type(s): string", "target": "string", "value": 5}},
        "gateways": {"type": {"message": "Value did not match type(s): array", "target": "array", "value": {}}},
    }


def test_type_with_several_types_and_enum_merge_under_one_key():
    assert errors_of("resources", resource(media={"bypass_media": 5})) == {
        "media.bypass_media": {
            "type": {
                "message": "Value did not match type(s): boolean, string",
                "target": "boolean, string",
                "value": 5,
            },
            "enum": {
                "message": "Value not found in enumerated list of values",
                "target": [True, False, "auto"],
                "value": 5,
            },
        }
    }


def test_data_that_is_not_an_object():
    assert errors_of("resources", ["x"]) == {
        "": {"type": {"message": "Value did not match type(s): object", "target": "object", "value": ["x"]}}
    }


def test_min_length():
    assert errors_of("resources", {"name": "", "gateways": []}) == {
        "name": {
            "minLength": {"message": "String must be at least 1 characters", "target": 1, "cause": "", "value": ""}
        }
    }


def test_max_length():
    long_name = "n" * 129
    assert errors_of("resources", {"name": long_name, "gateways": []}) == {
        "name": {
            "maxLength": {
                "message": "String must not be more than 128 characters",
                "target": 128,
                "cause": long_name,
                "value": long_name,
            }
        }
    }
    assert errors_of("resources", gateway(username="u" * 33))["gateways.0.username"] == {
        "maxLength": {
            "message": "String must not be more than 32 characters",
            "target": 32,
            "cause": "u" * 33,
            "value": "u" * 33,
        }
    }


def test_minimum_and_maximum():
    assert errors_of("resources", resource(grace_period=0, weight_cost=101)) == {
        "grace_period": {"minimum": {"message": "Value must be at least 1", "target": 1, "value": 0}},
        "weight_cost": {"maximum": {"message": "Value must be at most 100", "target": 100, "value": 101}},
    }
    assert errors_of("resources", resource(weight_cost=-1)) == {
        "weight_cost": {"minimum": {"message": "Value must be at least 0", "target": 0, "value": -1}}
    }


def test_enum():
    assert errors_of("resources", resource(gateway_strategy="roundrobin")) == {
        "gateway_strategy": {
            "enum": {
                "message": "Value not found in enumerated list of values",
                "target": ["sequential", "random"],
                "value": "roundrobin",
            }
        }
    }


def test_enum_inside_a_gateway_array():
    errors = errors_of("resources", gateway(codecs=["PCMU", "NOPE"]))
    assert list(errors) == ["gateways.0.codecs.1"]
    detail = errors["gateways.0.codecs.1"]["enum"]
    assert detail["message"] == "Value not found in enumerated list of values"
    assert detail["value"] == "NOPE" and "G729" in detail["target"] and len(detail["target"]) == 14


def test_min_items():
    assert errors_of("resource_jobs", {"numbers": [], "resource_id": "r"}) == {
        "numbers": {"minItems": {"message": "The list must have at least 1 items", "target": 1, "value": []}}
    }


def test_max_items_min_properties_and_pattern_with_an_adhoc_schema():
    schema = {
        "type": "object",
        "minProperties": 3,
        "properties": {"l": {"type": "array", "maxItems": 1}, "p": {"type": "string", "pattern": "^[0-9]+$"}},
    }
    doc, errors = validate_with(schema, {"l": [1, 2], "p": "12a"})
    assert errors == {
        "l": {"maxItems": {"message": "The list is more than 1 items", "target": 1, "value": [1, 2]}},
        "p": {"pattern": {"message": "Failed to match pattern '^[0-9]+$'", "target": "^[0-9]+$", "value": "12a"}},
        "": {
            "minProperties": {
                "message": "The object must have at least 3 keys",
                "target": 3,
                "value": {"l": [1, 2], "p": "12a"},
            }
        },
    }
    assert doc == {"l": [1, 2], "p": "12a"}


def test_unique_items():
    assert errors_of("resources", gateway(codecs=["PCMU", "PCMU"])) == {
        "gateways.0.codecs": {"uniqueItems": {"message": "List of items is not unique", "value": ["PCMU", "PCMU"]}}
    }


def test_additional_properties_is_reported_per_extra_key_with_the_parent_as_value():
    data = {"api_key": "k" * 64, "foo": 1, "bar": 2}
    message = "Strict checking of data is enabled; only include schema-defined properties"
    assert errors_of("api_auth", data) == {
        "foo": {"additionalProperties": {"message": message, "value": data}},
        "bar": {"additionalProperties": {"message": message, "value": data}},
    }
    errors = errors_of("resources", gateway(invite_parameters={"static": ["a"], "bogus": True}))
    assert errors == {
        "gateways.0.invite_parameters.bogus": {
            "additionalProperties": {"message": message, "value": {"static": ["a"], "bogus": True}}
        }
    }


def test_one_of_failure_uses_jesse_code():
    errors = errors_of("resources", gateway(invite_parameters={"dynamic": ["zone", "bogus"]}))
    assert errors == {
        "gateways.0.invite_parameters.dynamic.1": {
            "not_one_schema_valid": {"message": "failed to validate", "value": "bogus"}
        }
    }


def test_any_of_failure_uses_jesse_code():
    headers = {"in": {"bad key": "x"}}
    assert errors_of("resources", gateway(custom_sip_headers=headers)) == {
        "gateways.0.custom_sip_headers": {"any_schemas_not_valid": {"message": "failed to validate", "value": headers}}
    }


def test_dot_in_a_key_is_written_percent_2e():
    errors = errors_of("resources", resource(classifiers={"toll.free": {"weight_cost": 500}}))
    assert errors == {
        "classifiers.toll%2Efree.weight_cost": {
            "maximum": {"message": "Value must be at most 100", "target": 100, "value": 500}
        }
    }
    _, errors = validate_with({"type": "object", "required": ["a.b"]}, {})
    assert errors == {"a%2Eb": {"required": {"message": "Field is required but missing", "value": "a.b"}}}


def test_all_errors_are_reported_at_once():
    errors = errors_of(
        "resources",
        {
            "gateways": [{"port": "abc", "codecs": ["NOPE"]}, {"server": "x" * 129}],
            "weight_cost": 101,
            "gateway_strategy": "roundrobin",
            "media": {"bypass_media": 7},
        },
    )
    assert sorted(errors) == [
        "gateway_strategy",
        "gateways.0.codecs.0",
        "gateways.0.port",
        "gateways.0.server",
        "gateways.1.server",
        "media.bypass_media",
        "name",
        "weight_cost",
    ]
    assert errors["gateways.0.server"]["required"]["value"] == "server"
    assert errors["gateways.0.port"]["type"]["message"] == "Value did not match type(s): integer"
    assert errors["gateways.1.server"]["maxLength"]["message"] == "String must not be more than 128 characters"
    assert set(errors["media.bypass_media"]) == {"type", "enum"}
    json.dumps(errors)  # the object goes straight into the response envelope


def test_empty_gateway_list_is_valid():
    assert ok("resources", {"name": "X", "gateways": []})["gateways"] == []


# ---------------------------------------------------------------- JS-type fix-up


def test_fixup_converts_integer_strings():
    doc = ok("resources", resource(weight_cost="50", grace_period="7"))
    assert doc["weight_cost"] == 50 and doc["grace_period"] == 7
    assert type(doc["weight_cost"]) is int


def test_fixup_converts_boolean_strings():
    doc = ok("resources", resource(enabled="true", emergency="false"))
    assert doc["enabled"] is True and doc["emergency"] is False


def test_fixup_reaches_into_arrays():
    doc = ok("resources", gateway(port="5080", enabled="false", progress_timeout="6"))
    assert doc["gateways"][0]["port"] == 5080 and doc["gateways"][0]["enabled"] is False
    assert doc["gateways"][0]["progress_timeout"] == 6


def test_fixup_rounds_like_kazoo_to_integer():
    assert ok("resources", resource(weight_cost="5.5"))["weight_cost"] == 6
    assert ok("resources", resource(weight_cost=10.0))["weight_cost"] == 10
    # half away from zero (Erlang round/1), not Python's round-half-to-even
    assert ok("resources", resource(weight_cost=2.5))["weight_cost"] == 3
    assert ok("resources", resource(weight_cost="2.5"))["weight_cost"] == 3


def test_fixup_converts_number_strings():
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}
    assert validate_with(schema, {"n": "5.5"}) == ({"n": 5.5}, {})
    assert validate_with(schema, {"n": "5"}) == ({"n": 5}, {})
    assert validate_with(schema, {"n": "five"})[1] == {
        "n": {"type": {"message": "Value did not match type(s): number", "target": "number", "value": "five"}}
    }


@pytest.mark.parametrize(
    "field,value,wanted",
    [
        ("weight_cost", "abc", "integer"),
        ("weight_cost", "", "integer"),
        ("weight_cost", " 5", "integer"),
        ("weight_cost", "1e3", "integer"),
        ("weight_cost", True, "integer"),
        ("enabled", "yes", "boolean"),
        ("enabled", "True", "boolean"),
        ("enabled", 1, "boolean"),
    ],
)
def test_fixup_leaves_what_it_cannot_convert(field, value, wanted):
    assert errors_of("resources", resource(**{field: value})) == {
        field: {"type": {"message": f"Value did not match type(s): {wanted}", "target": wanted, "value": value}}
    }


def test_fixup_reports_only_what_it_did_not_fix():
    doc, errors = validate("resources", resource(weight_cost="50", enabled="maybe"))
    assert errors == {
        "enabled": {"type": {"message": "Value did not match type(s): boolean", "target": "boolean", "value": "maybe"}}
    }
    assert doc["weight_cost"] == 50


def test_fixup_then_checks_the_converted_value():
    assert errors_of("resources", resource(weight_cost="150")) == {
        "weight_cost": {"maximum": {"message": "Value must be at most 100", "target": 100, "value": 150}}
    }


def test_fixup_ignores_fields_with_a_list_of_types():
    errors = errors_of("resources", resource(media={"bypass_media": 1}))
    assert errors["media.bypass_media"]["type"]["value"] == 1


def test_strict_mode_does_not_convert():
    doc, errors = validate("resources", resource(weight_cost="50", enabled="true"), strict=True)
    assert errors == {
        "weight_cost": {
            "type": {"message": "Value did not match type(s): integer", "target": "integer", "value": "50"}
        },
        "enabled": {"type": {"message": "Value did not match type(s): boolean", "target": "boolean", "value": "true"}},
    }
    assert doc["weight_cost"] == "50"


# ---------------------------------------------------------------- custom_sip_headers


def test_custom_sip_headers_flat_form():
    headers = {"X-Account-ID": "abc", "X_Other": "1"}
    assert ok("resources", gateway(custom_sip_headers=headers))["gateways"][0]["custom_sip_headers"] == headers
    assert ok("custom_sip_headers", headers) == headers


def test_custom_sip_headers_in_out_form():
    headers = {"in": {"X-In": "a"}, "out": {"X-Out": "b"}}
    assert ok("resources", gateway(custom_sip_headers=headers))["gateways"][0]["custom_sip_headers"] == headers


def test_custom_sip_headers_bad_key_and_bad_value():
    assert errors_of("custom_sip_headers", {"bad key": "x"}) == {
        "bad key": {
            "additionalProperties": {
                "message": "Strict checking of data is enabled; only include schema-defined properties",
                "value": {"bad key": "x"},
            }
        }
    }
    assert errors_of("custom_sip_headers", {"X-Num": 5}) == {
        "X-Num": {"type": {"message": "Value did not match type(s): string", "target": "string", "value": 5}}
    }
    errors = errors_of("resources", gateway(custom_sip_headers={"out": {"X Bad": "v"}}))
    assert list(errors) == ["gateways.0.custom_sip_headers"]
    assert "any_schemas_not_valid" in errors["gateways.0.custom_sip_headers"]
    # not an object: only the outer type fails (the in/out branch has no type of its own)
    assert errors_of("resources", gateway(custom_sip_headers="X-A: b")) == {
        "gateways.0.custom_sip_headers": {
            "type": {"message": "Value did not match type(s): object", "target": "object", "value": "X-A: b"}
        }
    }
    # a flat header that is not a string is accepted by the in/out branch, as in Kazoo
    assert ok("resources", gateway(custom_sip_headers={"X-Num": 5}))["gateways"][0]["custom_sip_headers"] == {
        "X-Num": 5
    }


# ---------------------------------------------------------------- invite_parameters


def test_invite_parameters_dynamic_accepts_every_documented_form():
    params = {
        "static": ["npdi", "user=phone"],
        "dynamic": [
            "custom_channel_vars.account_id",
            "custom_sip_headers.X-Foo",
            "zone",
            {"key": "zone", "tag": "z"},
            {"key": "custom_channel_vars.owner_id", "tag": "o", "separator": ";"},
        ],
    }
    assert ok("resources", gateway(invite_parameters=params))["gateways"][0]["invite_parameters"] == params


@pytest.mark.parametrize(
    "item",
    [
        "bogus",
        5,
        {"key": "zone"},
        {"tag": "t"},
        {"key": "bogus", "tag": "t"},
        {"key": "zone", "tag": "t", "extra": 1},
        {"key": "zone", "tag": 5},
    ],
)
def test_invite_parameters_dynamic_rejects_bad_items(item):
    errors = errors_of("resources", gateway(invite_parameters={"dynamic": ["zone", item]}))
    assert errors == {
        "gateways.0.invite_parameters.dynamic.1": {
            "not_one_schema_valid": {"message": "failed to validate", "value": item}
        }
    }


def test_invite_parameters_static_items_are_strings():
    assert errors_of("resources", gateway(invite_parameters={"static": [1]})) == {
        "gateways.0.invite_parameters.static.0": {
            "type": {"message": "Value did not match type(s): string", "target": "string", "value": 1}
        }
    }


# ---------------------------------------------------------------- formatters


def test_formatters_accept_an_object_or_a_list_of_them():
    formatters = {
        "to": {"regex": "^\\+?1?(\\d{10})$", "prefix": "+1", "direction": "outbound"},
        "from": [{"regex": "^(\\d+)$", "direction": "inbound"}, {"strip": True}],
    }
    assert ok("resources", resource(formatters=formatters))["formatters"] == formatters


def test_formatters_bad_option_fails_the_one_of():
    errors = errors_of("resources", resource(formatters={"to": {"direction": "sideways"}}))
    assert errors == {
        "formatters.to": {"not_one_schema_valid": {"message": "failed to validate", "value": {"direction": "sideways"}}}
    }


# ---------------------------------------------------------------- resource_jobs


def test_resource_jobs_valid():
    data = {"numbers": ["+12223334444"], "resource_id": "r1", "name": "import"}
    assert ok("resource_jobs", data) == data


def test_resource_jobs_number_must_be_a_string():
    assert errors_of("resource_jobs", {"numbers": [5], "resource_id": "r"}) == {
        "numbers.0": {"type": {"message": "Value did not match type(s): string", "target": "string", "value": 5}}
    }


def test_resource_jobs_required_fields():
    assert errors_of("resource_jobs", {"numbers": ["+12223334444"]}) == {
        "resource_id": {"required": {"message": "Field is required but missing", "value": "resource_id"}}
    }
    assert set(errors_of("resource_jobs", {})) == {"numbers", "resource_id"}


def test_resource_jobs_name_length():
    assert "minLength" in errors_of("resource_jobs", {"numbers": ["1"], "resource_id": "r", "name": ""})["name"]


# ---------------------------------------------------------------- api_auth and user_auth


def test_api_auth_valid_key_gets_no_defaults():
    assert ok("api_auth", {"api_key": "a" * 64}) == {"api_key": "a" * 64}


def test_api_auth_wrong_length():
    assert errors_of("api_auth", {"api_key": "short"}) == {
        "api_key": {
            "minLength": {
                "message": "String must be at least 64 characters",
                "target": 64,
                "cause": "short",
                "value": "short",
            }
        }
    }
    assert (
        errors_of("api_auth", {"api_key": "a" * 65})["api_key"]["maxLength"]["message"]
        == "String must not be more than 64 characters"
    )


def test_api_auth_missing_key_and_extra_key():
    assert errors_of("api_auth", {}) == {
        "api_key": {"required": {"message": "Field is required but missing", "value": "api_key"}}
    }
    assert list(errors_of("api_auth", {"api_key": "a" * 64, "ui_metadata": {}})) == ["ui_metadata"]


def test_user_auth_errors():
    assert errors_of("user_auth", {"account_name": "A"}) == {
        "credentials": {"required": {"message": "Field is required but missing", "value": "credentials"}}
    }
    assert errors_of("user_auth", {"credentials": "ab", "method": "sha1"}) == {
        "method": {
            "enum": {
                "message": "Value not found in enumerated list of values",
                "target": ["md5", "sha"],
                "value": "sha1",
            }
        }
    }
    assert "maxLength" in errors_of("user_auth", {"credentials": "a" * 65})["credentials"]
    assert "minLength" in errors_of("user_auth", {"credentials": ""})["credentials"]
    assert "type" in errors_of("user_auth", {"credentials": "ab", "account_realm": 5})["account_realm"]


def test_user_auth_accepts_every_account_key_and_ui_metadata():
    data = {
        "credentials": "0123456789abcdef" * 2,
        "account_name": "Acme",
        "account_realm": "acme.example",
        "realm": "acme.example",
        "phone_number": "+14155550100",
        "ui_metadata": {"ui": "monster-ui", "version": "4.3", "origin": "auth"},
    }
    assert ok("user_auth", data) == {**data, "method": "md5"}


# ---------------------------------------------------------------- extra keys and ui_metadata


def test_ui_metadata_and_unknown_keys_are_kept():
    ui = {"version": "4.3-1", "ui": "monster-ui", "origin": "carriers"}
    doc = ok(
        "resources",
        {
            "name": "X",
            "ui_metadata": ui,
            "peer": False,
            "template_name": "t",
            "gateways": [{"server": "s", "register": True, "inbound_ip": "10.0.0.1"}],
        },
    )
    assert doc["ui_metadata"] == ui and doc["peer"] is False and doc["template_name"] == "t"
    assert doc["gateways"][0]["register"] is True and doc["gateways"][0]["inbound_ip"] == "10.0.0.1"
    assert ok("resource_jobs", {"numbers": ["1"], "resource_id": "r", "ui_metadata": ui})["ui_metadata"] == ui


def test_id_null_from_the_pipeline_is_accepted():
    assert ok("resources", resource(id=None))["id"] is None


# ---------------------------------------------------------------- helpers


def test_kazoo_validation_error_shape():
    detail = {"message": "resource not found", "cause": "r1"}
    err = kazoo_validation_error("resource_id", "not_found", detail)
    assert err == {"resource_id": {"not_found": {"message": "resource not found", "cause": "r1"}}}
    detail["message"] = "changed"
    assert err["resource_id"]["not_found"]["message"] == "resource not found"
    assert kazoo_validation_error(["gateways", 0, "a.b"], "unique", {"message": "m"}) == {
        "gateways.0.a%2Eb": {"unique": {"message": "m"}}
    }


def test_error_key():
    assert error_key(["classifiers", "toll.free", "weight_cost"]) == "classifiers.toll%2Efree.weight_cost"
    assert error_key(["gateways", 0, "server"]) == "gateways.0.server"
    assert error_key([]) == ""


def test_merge_errors():
    a = {"gateways.0.server": {"unique": {"message": "in use", "cause": 0}}}
    b = {
        "gateways.0.server": {"required": {"message": "must be an IP", "cause": 0}},
        "peer": {"forbidden": {"message": "no"}},
    }
    merged = merge_errors(a, None, {}, b)
    assert merged == {
        "gateways.0.server": {
            "unique": {"message": "in use", "cause": 0},
            "required": {"message": "must be an IP", "cause": 0},
        },
        "peer": {"forbidden": {"message": "no"}},
    }
    assert a == {"gateways.0.server": {"unique": {"message": "in use", "cause": 0}}}  # inputs untouched
    assert merge_errors() == {}


def test_kazoo_validator_leaves_jsonschema_draft4_alone():
    """Our draft-04 variant (linear uniqueItems, kazoo-regexp) is not registered for `$schema`
    draft-04: other users of jsonschema in the process keep Draft4Validator."""
    from jsonschema.validators import validator_for

    assert validator_for({"$schema": "http://json-schema.org/draft-04/schema#"}) is Draft4Validator
    assert validation.KazooValidator is not Draft4Validator


def test_unique_items_is_linear_and_keeps_json_equality():
    schema = {"type": "array", "uniqueItems": True}
    assert validation.validate_with(schema, [1, 1.0])[1]  # equal numbers
    assert not validation.validate_with(schema, [1, True])[1]  # a boolean is not a number
    assert validation.validate_with(schema, [{"a": [1]}, {"a": [1.0]}])[1]
    assert not validation.validate_with(schema, [i if i % 2 else str(i) for i in range(20_000)])[1]


def test_referenced_schemas_keep_both_keywords():
    """Gateways and formatters are `$ref`'d schemas: they are checked by the same validator."""
    data = {"name": "x", "gateways": [], "formatters": {"from": {"regex": "^(+44"}}}
    assert validation.validate("resources", data)[1] == {
        "formatters.from": {"not_one_schema_valid": {"message": "failed to validate", "value": {"regex": "^(+44"}}}
    }


def test_unique_items_in_a_referenced_schema_costs_what_sortable_items_cost():
    """jsonschema's own uniqueItems compares every pair of items it cannot sort (8,000 mixed
    codecs took 46 s); ours is linear. Judged against sortable items of the same count."""
    import time

    def cost(codecs: list) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            validation.validate("resources", {"name": "x", "gateways": [{"server": "a", "codecs": codecs}]})
            best = min(best, time.perf_counter() - started)
        return best

    mixed = cost([i if i % 2 else str(i) for i in range(6_000)])
    sortable = cost([str(i) for i in range(6_000)])
    assert mixed <= 5 * sortable, (mixed, sortable)
