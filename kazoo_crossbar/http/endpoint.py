"""The endpoint contract (Kazoo's cb_skels), owned by the pipeline that calls it.

One endpoint per noun (or sub-noun, such as `resources/jobs`), callbacks in a fixed order:
allowed_methods → authorize → validate → execute. `validate` returns what `execute` needs
(a value of the endpoint's own type); an endpoint never renders a response or catches
storage errors itself: it fills the context or raises an `errors` ApiError. Endpoints get
their dependencies (storage, config, job service…) in their constructor."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from .context import Context

T = TypeVar("T")


class Endpoint(Generic[T]):
    nouns: ClassVar[tuple[str, ...]] = ()
    # api_auth/user_auth create tokens, so they cannot require one.
    authenticates_itself: ClassVar[bool] = False
    # sub-nouns handled by an endpoint of their own: /resources/jobs/… (an instance sets its own)
    subnouns: Mapping[str, Endpoint[Any]] = MappingProxyType({})

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        """Methods this path accepts; empty means the path does not exist (404)."""
        return frozenset()

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        """True/False to decide, None to apply the generic account-hierarchy rule."""
        return None

    async def validate(self, ctx: Context, args: list[str]) -> T | None:
        """Load and check; for GET this also sets the response. Returns what execute needs."""
        return None

    async def execute(self, ctx: Context, args: list[str], prepared: T) -> None:
        """Write (PUT/POST/PATCH/DELETE), after validate succeeded."""

    def paths(self) -> dict[str, dict]:
        """OpenAPI path items this endpoint serves (built with http/operations.py)."""
        return {}
