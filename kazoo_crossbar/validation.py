"""Request-body validation against the shipped JSON schemas (draft-04), in Kazoo 4.3's shape.

Kazoo validates with jesse (2600hz fork) using ``use_defaults`` and
``apply_defaults_to_empty_objects`` and collects every error. This module reproduces what
a client can observe of that:

* **Defaults are inserted before validation**, into a copy of the data, and the copy is
  what gets validated and returned. jesse inserts them while it validates, which also
  validates the inserted values; validating the filled-in copy does the same, and every
  shipped default is valid, so the errors are the ones Kazoo reports. Insertion follows
  ``kz_json_schema_tests``: a property with a ``default`` is added when absent; recursion
  goes into objects that are present (or were just defaulted), into ``patternProperties``
  and schema-valued ``additionalProperties`` values, and into every array item (following
  ``$ref``); an absent property without its own default is never created. ``allOf``
  branches are followed; ``anyOf``/``oneOf``/``not`` branches are not (none of the shipped
  schemas has defaults there). Defaults are copied per document, never shared.

* **Errors** are one flat object: key = the dot-joined path (array indexes 0-based, a ``.``
  inside a key written ``%2E``; for ``required`` the key is ``<parent path>.<missing>``),
  value = ``{code: detail}``, several codes under one key merged. Codes, messages and extra
  keys follow ``kz_json_schema:error_to_jobj/2``. Combinators carry jesse's reason atoms
  as codes, reported at the instance path with
  ``{"message": "failed to validate", "value": <instance>}``:

  - ``oneOf`` (none, or more than one, branch valid) -> ``not_one_schema_valid``
  - ``anyOf`` (no branch valid)                     -> ``any_schemas_not_valid``
  - ``allOf`` -> the branch's own errors (jsonschema reports them individually)
  - ``not``                                         -> ``not_schema_valid``

  ``maxProperties`` -> ``too_many_properties`` and ``multipleOf`` -> ``not_multiple_of``
  (generic message, as Kazoo has no dedicated text). ``format`` is not checked.

* **JS-type fix-up** (``strict=False``, Kazoo's ``crossbar.schema_strict_validation``
  default): every ``type`` error whose schema type is exactly ``"integer"``, ``"number"`` or
  ``"boolean"`` (a list of types is never fixed, as in Kazoo) is converted like
  ``kz_term:to_integer/to_number/to_boolean`` and the document validated once more:

  - integer: ``"50"`` -> 50; a decimal string or a JSON float is *rounded* half away from
    zero (``"5.5"`` -> 6, ``5.0`` -> 5), Kazoo's non-strict ``to_integer``;
  - number: ``"50"`` -> 50, ``"5.5"`` -> 5.5 (Erlang float syntax: digits '.' digits);
  - boolean: exactly ``"true"`` / ``"false"``.

  Errors inside ``oneOf``/``anyOf`` branches are not fixed (jesse only reports the
  combinator). Whatever the conversion could not fix is reported.

* **Cost.** At most ``MAX_ERRORS`` errors are collected (jsonschema yields them lazily, so
  validation stops there; Kazoo collects every one: 45,000 empty gateways made a 4.4 MB
  answer). ``uniqueItems`` is checked in linear time (jsonschema compares every pair of items
  it cannot sort: 8,000 mixed items took 46 s).

* ``"kazoo-regexp": true`` (Kazoo's own schema extension, ``kz_json_schema_extensions``): the
  string must compile as stepswitch compiles rules, ``re:compile/1``: PCRE, bytes, no UTF mode.
  Checked with PCRE2 (the ``pcre2`` binding); an invalid one is Kazoo's
  ``{"error": {"message": "invalid regular expression: '<value>'", "value": <value>}}``.

The caller's ``data`` is never modified. Validators and the ``$ref`` registry are built
once per schema and cached (validation is on the request path).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pcre2
from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

if TYPE_CHECKING:  # referencing does not export Resolver publicly
    from referencing._core import Resolver

__all__ = [
    "MAX_ERRORS",
    "SchemaNotFound",
    "error_key",
    "kazoo_validation_error",
    "load_schema",
    "merge_errors",
    "schema_names",
    "validate",
    "validate_with",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]*\Z")  # schema ids only: no path tricks

Errors = dict[str, dict[str, dict[str, Any]]]
MAX_ERRORS = 50  # errors reported per document: enough to fix a form, small enough to send
MAX_QUOTED_PATTERN = 256  # a longer invalid pattern is not repeated in the message


class SchemaNotFound(LookupError):
    """No shipped schema has this id (Kazoo: 500 ``schema <id> not found.``)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"schema {name} not found.")
        self.name = name


# --------------------------------------------------------------------------- loading


@cache
def _load(name: str) -> dict:
    if not _NAME.match(name):
        raise SchemaNotFound(name)
    try:
        text = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaNotFound(name) from None
    return json.loads(text)


def load_schema(name: str) -> dict:
    """The schema with this id, as shipped (a private copy; the cached one stays intact)."""
    return _copy_json(_load(name))


def schema_names() -> list[str]:
    """Ids of every shipped schema."""
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    # Every schema is registered under its id, so "$ref": "endpoint.media" resolves
    # from any of them (relative ids without a slash resolve to themselves).
    resources = []
    for name in schema_names():
        contents = _validation_schema(name)
        resources.append((contents.get("id", name), Resource.from_contents(contents, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def _without_dialect(schema: dict) -> dict:
    # jsonschema picks the validator class of a `$ref`'d schema from its `$schema`: with it, every
    # referenced schema (gateways, formatters) would be checked by the plain Draft4Validator,
    # without the two keywords below. Without it, a referenced schema keeps KazooValidator.
    return {k: v for k, v in schema.items() if k != "$schema"}


@cache
def _validation_schema(name: str) -> dict:
    return _without_dialect(_load(name))


def _hashable(value: Any) -> Any:
    """A key equal for equal JSON values (1 and 1.0 alike; true and 1 apart), for uniqueItems."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _hashable(v)) for k, v in value.items()))
    return ("scalar", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _hashable(item)
        if key in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(key)


MAX_CACHED_PATTERN = 1024  # longer patterns are compiled each time rather than kept in the cache


def pcre_error(pattern: str) -> str | None:
    """Why stepswitch's `re:compile/1` would refuse the pattern (None when it compiles). Erlang
    compiles the binary without `unicode`: PCRE2 is given the UTF-8 bytes, no UTF mode."""
    return _cached_pcre_error(pattern) if len(pattern) <= MAX_CACHED_PATTERN else _pcre_error(pattern)


@lru_cache(maxsize=4096)
def _cached_pcre_error(pattern: str) -> str | None:
    return _pcre_error(pattern)


def _pcre_error(pattern: str) -> str | None:
    try:
        pcre2.compile(pattern.encode("utf-8"))
    except pcre2.LibraryError as exc:  # PatternError and the library's other refusals
        return str(exc) or "invalid"
    return None


def _kazoo_regexp(validator: Any, enabled: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if enabled is True and isinstance(instance, str) and pcre_error(instance) is not None:
        quoted = f": '{instance}'" if len(instance) <= MAX_QUOTED_PATTERN else ""
        yield ValidationError(f"invalid regular expression{quoted}")


# Draft-04 with the two changes above (the schemas' other keywords are jsonschema's own). No
# `version`: a named one would replace Draft4Validator for every draft-04 schema in the process.
KazooValidator = validators.extend(Draft4Validator, {"uniqueItems": _unique_items, "kazoo-regexp": _kazoo_regexp})


@cache
def _validator(name: str) -> Draft4Validator:
    return KazooValidator(_validation_schema(name), registry=_registry())


# --------------------------------------------------------------------------- public API


def validate(name: str, data: Any, *, strict: bool = False) -> tuple[Any, Errors]:
    """Validate ``data`` against the shipped schema ``name`` (raises ``SchemaNotFound``).

    Returns ``(copy of data with defaults inserted, errors)``; ``errors`` is ``{}`` on
    success, else Kazoo's flat error object (see the module docstring). With
    ``strict=False`` string/float values of integer, number and boolean fields are
    converted first when that is all that is wrong (Kazoo's JS-type fix-up).
    """
    schema = _validation_schema(name)
    return _run(schema, _validator(name), data, strict)


def validate_with(schema: Mapping[str, Any], data: Any, *, strict: bool = False) -> tuple[Any, Errors]:
    """Like ``validate`` but with an ad-hoc draft-04 schema (its ``$ref``s may name shipped
    schemas). Builds a validator on every call: not for the request path."""
    copied = _without_dialect(_copy_json(dict(schema)))
    return _run(copied, KazooValidator(copied, registry=_registry()), data, strict)


def _run(schema: dict, validator: Draft4Validator, data: Any, strict: bool) -> tuple[Any, Errors]:
    root_resolver = _registry().resolver(base_uri=schema.get("id", ""))
    doc = _copy_json(data)
    _fill_defaults(doc, schema, root_resolver)
    errors = list(itertools.islice(validator.iter_errors(doc), MAX_ERRORS))
    if errors and not strict:
        doc, changed = _fix_js_types(doc, errors)
        if changed:
            _fill_defaults(doc, schema, root_resolver)  # idempotent; only scalars changed
            errors = list(itertools.islice(validator.iter_errors(doc), MAX_ERRORS))
    return doc, _to_kazoo(errors)


def error_key(path: Iterable[str | int]) -> str:
    """Kazoo's flat error key for a path: parts joined by ``.``, dots inside parts as ``%2E``."""
    return ".".join(str(part).replace(".", "%2E") for part in path)


def kazoo_validation_error(key_path: str | Sequence[str | int], code: str, detail: Mapping[str, Any]) -> Errors:
    """A hand-made error, e.g. ``kazoo_validation_error("resource_id", "not_found", {"message": ...})``.

    ``key_path`` is an already dot-joined key, or a sequence of parts to be joined (and
    escaped) like schema error keys.
    """
    key = key_path if isinstance(key_path, str) else error_key(key_path)
    return {key: {code: dict(detail)}}


def merge_errors(*errs: Mapping[str, Mapping[str, Any]] | None) -> Errors:
    """Merge error objects: codes under the same key are combined (a later code wins)."""
    merged: Errors = {}
    for err in errs:
        for key, codes in (err or {}).items():
            merged.setdefault(key, {}).update(codes)
    return merged


# --------------------------------------------------------------------------- defaults


def _copy_json(value: Any) -> Any:
    # Faster than copy.deepcopy for JSON trees; scalars are immutable and shared.
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _deref(schema: Any, resolver: Resolver) -> tuple[Any, Resolver]:
    # Draft-04: a "$ref" replaces the whole schema it appears in.
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
        seen += 1
    return schema, resolver


def _default_of(schema: Any, resolver: Resolver) -> tuple[bool, Any]:
    if isinstance(schema, dict) and "default" in schema:
        return True, schema["default"]
    target, _ = _deref(schema, resolver)
    if isinstance(target, dict) and "default" in target:
        return True, target["default"]
    return False, None


def _fill_defaults(instance: Any, schema: Any, resolver: Resolver) -> None:
    schema, resolver = _deref(schema, resolver)
    if not isinstance(schema, dict):
        return
    for branch in schema.get("allOf", ()):
        _fill_defaults(instance, branch, resolver)
    if isinstance(instance, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for prop, sub in props.items():
            if prop not in instance:
                found, default = _default_of(sub, resolver)
                if not found:
                    continue  # absent and no default of its own: never created
                instance[prop] = _copy_json(default)
            _fill_defaults(instance[prop], sub, resolver)
        patterns: Mapping[str, Any] = schema.get("patternProperties") or {}
        extra = schema.get("additionalProperties")
        if patterns or isinstance(extra, dict):
            for key, value in instance.items():
                matched = False
                for pattern, sub in patterns.items():
                    if re.search(pattern, key):
                        matched = True
                        _fill_defaults(value, sub, resolver)
                if isinstance(extra, dict) and not matched and key not in props:
                    _fill_defaults(value, extra, resolver)
    elif isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in instance:
                _fill_defaults(item, items, resolver)
        elif isinstance(items, list):
            for item, sub in zip(instance, items):
                _fill_defaults(item, sub, resolver)
            more = schema.get("additionalItems")
            if isinstance(more, dict):
                for item in instance[len(items) :]:
                    _fill_defaults(item, more, resolver)


# --------------------------------------------------------------------------- JS-type fix-up

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT_TEXT = re.compile(r"[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?\Z")  # Erlang's float syntax


def _round_half_away(value: float) -> int:
    # Erlang round/1, not Python's banker's rounding.
    if not math.isfinite(value):
        raise ValueError(value)
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def _to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        return _round_half_away(value)
    if isinstance(value, str):
        if _INTEGER_TEXT.match(value):
            return int(value)
        if _FLOAT_TEXT.match(value):
            return _round_half_away(float(value))
    raise ValueError(value)


def _to_number(value: Any) -> int | float:
    if isinstance(value, str):
        if _INTEGER_TEXT.match(value):
            return int(value)
        if _FLOAT_TEXT.match(value):
            number = float(value)
            if math.isfinite(number):
                return number
    raise ValueError(value)


def _to_boolean(value: Any) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
}


def _fix_js_types(doc: Any, errors: Iterable[ValidationError]) -> tuple[Any, bool]:
    changed = False
    for error in errors:
        wanted = error.validator_value
        if error.validator != "type" or not isinstance(wanted, str) or wanted not in _CONVERTERS:
            continue
        try:
            fixed = _CONVERTERS[wanted](error.instance)
        except ValueError:
            continue
        path = list(error.absolute_path)
        if not path:
            doc, changed = fixed, True
            continue
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = fixed
        except (KeyError, IndexError, TypeError):
            continue
        changed = True
    return doc, changed


# --------------------------------------------------------------------------- error shape


def _generic(instance: Any) -> dict[str, Any]:
    return {"message": "failed to validate", "value": instance}


def _convert(error: ValidationError) -> Iterator[tuple[list[str | int], str, dict[str, Any]]]:
    path: list[str | int] = list(error.absolute_path)
    # the stubs allow `Unset` and boolean schemas; an error raised by a validator has neither
    keyword, target, value = str(error.validator), cast(Any, error.validator_value), error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}

    if keyword == "required":
        # jsonschema yields one error per missing name without naming it; list them all
        # (duplicates merge into the same entry).
        if isinstance(value, dict):
            for prop in target:
                if prop not in value:
                    yield path + [prop], "required", {"message": "Field is required but missing", "value": prop}
    elif keyword == "type":
        types = ", ".join(target) if isinstance(target, list) else str(target)
        yield path, "type", {"message": f"Value did not match type(s): {types}", "target": types, "value": value}
    elif keyword == "enum":
        yield (
            path,
            "enum",
            {"message": "Value not found in enumerated list of values", "target": list(target), "value": value},
        )
    elif keyword == "minLength":
        yield (
            path,
            "minLength",
            {
                "message": f"String must be at least {target} characters",
                "target": target,
                "cause": value,
                "value": value,
            },
        )
    elif keyword == "maxLength":
        yield (
            path,
            "maxLength",
            {
                "message": f"String must not be more than {target} characters",
                "target": target,
                "cause": value,
                "value": value,
            },
        )
    elif keyword == "minimum":
        yield path, "minimum", {"message": f"Value must be at least {target}", "target": target, "value": value}
    elif keyword == "maximum":
        yield path, "maximum", {"message": f"Value must be at most {target}", "target": target, "value": value}
    elif keyword == "minItems":
        yield (
            path,
            "minItems",
            {"message": f"The list must have at least {target} items", "target": target, "value": value},
        )
    elif keyword == "maxItems":
        yield (
            path,
            "maxItems",
            {"message": f"The list is more than {target} items", "target": target, "value": value},
        )
    elif keyword == "minProperties":
        yield (
            path,
            "minProperties",
            {"message": f"The object must have at least {target} keys", "target": target, "value": value},
        )
    elif keyword == "uniqueItems":
        yield path, "uniqueItems", {"message": "List of items is not unique", "value": value}
    elif keyword == "additionalProperties":
        # jesse reports each extra key at its own path, with the parent object as value.
        props = schema.get("properties") or {}
        patterns = schema.get("patternProperties") or {}
        if isinstance(value, dict):
            for extra in value:
                if extra not in props and not any(re.search(p, extra) for p in patterns):
                    yield (
                        path + [extra],
                        "additionalProperties",
                        {
                            "message": "Strict checking of data is enabled; only include schema-defined properties",
                            "value": value,
                        },
                    )
    elif keyword == "additionalItems":
        yield (
            path,
            "additionalItems",
            {"message": "Strict checking of data is enabled; only include schema-defined items", "value": value},
        )
    elif keyword == "pattern":
        yield path, "pattern", {"message": f"Failed to match pattern '{target}'", "target": target, "value": value}
    elif keyword == "dependencies":
        yield path, "dependencies", {"message": "Dependencies were not validated", "value": value}
    elif keyword == "kazoo-regexp":
        yield path, "error", {"message": error.message, "value": value}
    elif keyword == "format":
        yield path, "wrong_format", {"message": "Field is not in the correct format", "value": value, "format": target}
    else:
        yield path, _JESSE_CODES.get(keyword, keyword), _generic(value)


_JESSE_CODES = {
    "oneOf": "not_one_schema_valid",
    "anyOf": "any_schemas_not_valid",
    "allOf": "all_schemas_not_valid",
    "not": "not_schema_valid",
    "maxProperties": "too_many_properties",
    "multipleOf": "not_multiple_of",
}


def _to_kazoo(errors: Iterable[ValidationError]) -> Errors:
    out: Errors = {}
    for error in errors:
        for path, code, detail in _convert(error):
            key = error_key(path)
            if key not in out and len(out) >= MAX_ERRORS:
                return out  # one `required`/`additionalProperties` error can name many keys
            out.setdefault(key, {})[code] = detail
    return out
