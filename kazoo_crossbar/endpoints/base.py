"""What every endpoint module shares beyond the contract (http/endpoint.py): schema checks."""

from __future__ import annotations

import asyncio

from .. import validation
from ..http import errors
from ..storage.system_config import SystemConfig

# Validating a request body this large costs milliseconds: it runs in a worker thread, so the
# event loop keeps serving meanwhile (validation is linear in the body, validation.py).
VALIDATE_OFF_LOOP_BYTES = 32 * 1024


async def validate(schema: str, data: object, *, strict: bool, body_size: int) -> tuple[dict, validation.Errors]:
    """validation.validate, in a worker thread for a large body."""
    if body_size <= VALIDATE_OFF_LOOP_BYTES:
        return validation.validate(schema, data, strict=strict)
    return await asyncio.to_thread(validation.validate, schema, data, strict=strict)


async def check_schema(config: SystemConfig, schema: str, data: object, *, body_size: int = 0) -> dict:
    """Validate request data against a shipped schema (defaults inserted), or raise Kazoo's 400."""
    strict = await config.setting("crossbar", "schema_strict_validation")
    validated, problems = await validate(schema, data, strict=strict is True, body_size=body_size)
    if problems:
        raise errors.validation(problems)
    return validated
