"""Kazoo 4.3 JWTs (kz_auth, kz_auth_jwt, kz_auth_identity).

Header `{"alg":"RS256","typ":"JWT","kid":<system_key>}`; claims in Kazoo's
order `iss, identity_sig, account_id, owner_id?, as?, method, exp` (UNIX seconds).
`as` is the login request's masquerade (`{account_id, owner_id}`, crossbar_auth:create_auth_token):
a token carrying one acts as that account when it is a descendant of the token's own
(cb_token_auth:check_as, applied by the request pipeline; `masquerade` reads it).
`identity_sig` = b64url(HMAC-SHA256(identity secret ‖ server secret, owner_id
or account_id)); the identity secret is `pvt_signature_secret` of the user (or
account) doc, the server secret system_config `auth.secret_for_user_signature`.
Tokens are interchangeable with a Kazoo cluster sharing the same databases.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from ..storage import names
from ..storage.cache import TTLCache
from ..storage.couch import Conflict
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes
from .keys import KeyStore

ALGORITHMS = ["RS256", "RS384", "RS512"]


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    account_id: str
    owner_id: str | None
    method: str
    exp: int
    raw: dict


def masquerade(raw: dict) -> tuple[Any, Any] | None:
    """cb_token_auth:check_as_payload: the token's `as` (account_id, owner_id) when it names
    both, else None (the token acts as itself). The values are as the token holds them."""
    claim = raw.get("as")
    if not isinstance(claim, dict) or "account_id" not in claim or "owner_id" not in claim:
        return None
    return claim["account_id"], claim["owner_id"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class Tokens:
    def __init__(self, config: SystemConfig, keys: KeyStore, writes: Writes):
        self.config, self.keys, self.writes = config, keys, writes
        self.couch = writes.couch
        self._secrets: TTLCache[str] = TTLCache(10.0)
        # Verified tokens, for as long as an identity secret stays cached: the RSA check and
        # JWT parsing are most of a request's own cost (see docs/benchmarks.md).
        self._verified: TTLCache[Claims] = TTLCache(10.0)

    async def _server_secret(self) -> str:
        return await self.config.get("auth", "secret_for_user_signature", secrets.token_hex(16))

    async def _identity_secret(self, account_id: str, identity: str, *, create: bool) -> str | None:
        cached = self._secrets.get((account_id, identity))
        if cached is not None:
            return cached

        def change(doc: dict | None) -> dict | None:
            if doc is None or doc.get("pvt_signature_secret") or not create:
                return None
            return {**doc, "pvt_signature_secret": secrets.token_hex(16)}

        try:
            doc = await self.writes.update(names.account_db(account_id), identity, change)
        except Conflict:
            return None
        secret = (doc or {}).get("pvt_signature_secret")
        return self._secrets.put((account_id, identity), secret) if secret else None

    async def _identity_sig(self, account_id: str, owner_id: str | None, *, create: bool) -> bytes | None:
        identity = owner_id or account_id
        secret = await self._identity_secret(account_id, identity, create=create)
        if secret is None:
            return None
        key = secret.encode() + (await self._server_secret()).encode()
        return hmac.new(key, identity.encode(), hashlib.sha256).digest()

    async def issue(self, account_id: str, owner_id: str | None, method: str, as_claim: Any = None) -> str:
        """A token for the account (and user); `as_claim` is the login request's `as`, kept as it
        was sent (Kazoo checks it when the token is used, not here)."""
        kid = await self.keys.signing_kid()
        key = await self.keys.private_key(kid, create=True)
        sig = await self._identity_sig(account_id, owner_id, create=True)
        if key is None or sig is None:
            raise InvalidToken("cannot sign for this identity")
        expiry = await self.config.setting_int("crossbar.auth", "token_auth_expiry_s")
        claims: dict = {"iss": "kazoo", "identity_sig": b64url(sig), "account_id": account_id}
        if owner_id:
            claims["owner_id"] = owner_id
        if as_claim is not None:
            claims["as"] = as_claim
        claims["method"] = method
        claims["exp"] = int(time.time()) + expiry
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    async def verify(self, token: str) -> Claims:
        # concurrent first uses of one token verify it once (single-flight); a token in use is
        # verified again in the background before its cache entry expires (refresh ahead)
        claims = await self._verified.get_or_load(token, lambda: self._verify(token))
        assert claims is not None  # _verify raises rather than answer None
        if claims.exp <= time.time():  # expired while cached: verify again (which refuses it)
            self._verified.drop(token)
            claims = await self._verified.get_or_load(token, lambda: self._verify(token))
            assert claims is not None
        return claims

    def forget(self) -> None:
        self._secrets.clear()
        self._verified.clear()

    async def _verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidToken("no kid")
            public = await self.keys.public_key(kid)
            if public is None:
                raise InvalidToken("unknown kid")
            claims = jwt.decode(token, public, algorithms=ALGORITHMS, options={"require": ["exp"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        account_id, owner_id = claims.get("account_id"), claims.get("owner_id")
        if claims.get("iss") != "kazoo" or not names.is_account_id(account_id):
            raise InvalidToken("bad claims")
        if owner_id is not None and not isinstance(owner_id, str):
            raise InvalidToken("bad owner")
        sig = claims.get("identity_sig")
        expected = await self._identity_sig(account_id, owner_id, create=False)
        if not isinstance(sig, str) or expected is None:
            raise InvalidToken("no identity")
        try:
            given = b64url_decode(sig)
        except ValueError as exc:
            raise InvalidToken("bad identity_sig") from exc
        if not hmac.compare_digest(given, expected):
            raise InvalidToken("identity mismatch")
        return Claims(account_id, owner_id, str(claims.get("method", "")), int(claims["exp"]), claims)
