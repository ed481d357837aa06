"""The endpoint contract (Kazoo's cb_skels): one module per noun, callbacks the
pipeline calls in a fixed order. An endpoint never renders a response or
catches storage errors itself; it fills the context or raises ApiError."""
from __future__ import annotations

from typing import ClassVar

from ..http.context import Context


class Endpoint:
    nouns: ClassVar[tuple[str, ...]] = ()
    # api_auth/user_auth create tokens, so they cannot require one.
    authenticates_itself: ClassVar[bool] = False

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        """Methods this path accepts; empty means the path does not exist (404)."""
        return frozenset()

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        """True/False to decide, None to apply the generic account-hierarchy rule."""
        return None

    async def validate(self, ctx: Context, args: list[str]) -> None:
        """Load and check; for GET this also sets the response."""

    async def execute(self, ctx: Context, args: list[str]) -> None:
        """Write (PUT/POST/PATCH/DELETE), after validate succeeded."""


async def check_schema(ctx: Context, schema: str, data: object) -> dict:
    """Validate request data against a shipped schema (defaults inserted), or raise Kazoo's 400."""
    from .. import validation
    from ..http import errors

    strict = await ctx.services.config.get("crossbar", "schema_strict_validation", False)
    validated, problems = validation.validate(schema, data, strict=strict is True)
    if problems:
        raise errors.validation(problems)
    return validated
