"""What every endpoint module shares beyond the contract (http/endpoint.py): schema checks."""

from __future__ import annotations

from .. import validation
from ..http import errors
from ..storage.system_config import SystemConfig


async def check_schema(config: SystemConfig, schema: str, data: object) -> dict:
    """Validate request data against a shipped schema (defaults inserted), or raise Kazoo's 400."""
    strict = await config.setting("crossbar", "schema_strict_validation")
    validated, problems = validation.validate(schema, data, strict=strict is True)
    if problems:
        raise errors.validation(problems)
    return validated
