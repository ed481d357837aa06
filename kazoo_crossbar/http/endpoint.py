"""The endpoint contract (Kazoo's cb_skels), owned by the pipeline that calls it.

One endpoint per noun (or sub-noun, such as `resources/jobs`), callbacks in a fixed order:
allowed_methods → authorize → validate → execute. `validate` returns what `execute` needs
(a value of the endpoint's own type); an endpoint never renders a response or catches
storage errors itself: it fills the context or raises an `errors` ApiError. Endpoints get
their dependencies (storage, config, job service…) in their constructor.

Each endpoint declares its routes once (`routes`, and `mounts` for where they appear): the
pipeline's allowed methods and the endpoint's OpenAPI paths are both generated from them
(tests/unit/test_routes.py checks that the document and the routing agree)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from .context import Context
from .operations import Operation

T = TypeVar("T")


@dataclass(frozen=True)
class Route:
    """One path below the endpoint's noun and what each method does there."""

    # each segment a literal ("collection") or a path parameter (operations.path_param), which
    # matches any value: validate judges it
    args: tuple[str | dict, ...]
    methods: Mapping[str, Operation]

    def matches(self, args: list[str]) -> bool:
        return len(args) == len(self.args) and all(
            isinstance(seg, dict) or seg == arg for seg, arg in zip(self.args, args, strict=True)
        )

    @property
    def params(self) -> list[dict]:
        return [seg for seg in self.args if isinstance(seg, dict)]

    @property
    def template(self) -> str:
        return "".join("/" + (f"{{{seg['name']}}}" if isinstance(seg, dict) else seg) for seg in self.args)


@dataclass(frozen=True)
class Mount:
    """Where an endpoint's routes appear in the API document: a path prefix, the tag that makes
    its operation ids unique, the prefix's own path parameters."""

    prefix: str
    tag: str = ""
    params: tuple[dict, ...] = ()
    deprecated: bool = False


class Endpoint(Generic[T]):
    nouns: ClassVar[tuple[str, ...]] = ()
    # api_auth/user_auth create tokens, so they cannot require one.
    authenticates_itself: ClassVar[bool] = False
    # sub-nouns handled by an endpoint of their own: /resources/jobs/… (an instance sets its own)
    subnouns: Mapping[str, Endpoint[Any]] = MappingProxyType({})
    # the one declaration of this endpoint's paths (a sub-noun's endpoint has no mounts of its
    # own: it appears under its parent's)
    routes: ClassVar[tuple[Route, ...]] = ()
    mounts: ClassVar[tuple[Mount, ...]] = ()

    def route(self, args: list[str]) -> Route | None:
        """The declared route for these arguments; a literal segment wins over a parameter."""
        found = [route for route in self.routes if route.matches(args)]
        return min(found, key=lambda route: len(route.params), default=None)

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        """Methods this path accepts; empty means the path does not exist (404). An endpoint
        narrows this only for what its routes cannot say (where in the URL it may appear)."""
        route = self.route(args)
        return frozenset(route.methods) if route is not None else frozenset()

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        """True/False to decide, None to apply the generic account-hierarchy rule."""
        return None

    async def validate(self, ctx: Context, args: list[str]) -> T | None:
        """Load and check; for GET this also sets the response. Returns what execute needs."""
        return None

    async def execute(self, ctx: Context, args: list[str], prepared: T) -> None:
        """Write (PUT/POST/PATCH/DELETE), after validate succeeded."""

    def paths(self) -> dict[str, dict]:
        """OpenAPI path items of every mount, sub-nouns included."""
        out: dict[str, dict] = {}
        for mount in self.mounts:
            out.update(self.paths_at(mount))
        return out

    def paths_at(self, mount: Mount) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for route in self.routes:
            params = [*mount.params, *route.params]
            out[mount.prefix + route.template] = {
                method.lower(): operation.render(mount.tag, params, mount.deprecated)
                for method, operation in route.methods.items()
            }
        for name, endpoint in self.subnouns.items():
            out.update(endpoint.paths_at(replace(mount, prefix=f"{mount.prefix}/{name}")))
        return out
