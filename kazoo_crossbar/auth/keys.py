"""The signing key, kept where Kazoo 4.3 keeps it (kz_auth_keys).

Key id: system_config `auth` → `system_key` (32 hex, created on first use).
The RSA key (2048 bit, PKCS#1 PEM) is the attachment `private_key.pem` of the
doc `<kid>` (`pvt_type: system_key`) in `system_auth`. Either side may create
it first; a conflict means the other won, so we read theirs.
"""

from __future__ import annotations

import asyncio
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..storage import names, retry
from ..storage.couch import Conflict, NotFound
from ..storage.docs import system_pvt_fields
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes

ATTACHMENT = "private_key.pem"
ATTACHMENT_CTYPE = "application/x-pem-file"
THEIRS_POLL = retry.Backoff(0.1, factor=1)  # another node's key attachment: 20 looks, 0.1 s apart


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


class KeyStore:
    def __init__(self, config: SystemConfig, writes: Writes):
        self.config, self.writes = config, writes
        self.couch, self.node = writes.couch, writes.node
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = asyncio.Lock()

    async def signing_kid(self) -> str:
        return await self.config.get("auth", "system_key", secrets.token_hex(16))

    async def private_key(self, kid: str, *, create: bool = False) -> rsa.RSAPrivateKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            if kid not in self._keys:
                key = await self._load(kid) or (await self._create(kid) if create else None)
                if key is None:
                    return None
                self._keys[kid] = key
        return self._keys[kid]

    async def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        key = await self.private_key(kid)
        return key.public_key() if key else None

    async def _load(self, kid: str) -> rsa.RSAPrivateKey | None:
        try:
            pem = await self.couch.get_attachment(names.SYSTEM_AUTH, kid, ATTACHMENT)
        except NotFound:
            return None
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    async def _theirs(self, kid: str) -> rsa.RSAPrivateKey | None:
        """Another node is creating this key: its attachment follows its doc within moments."""
        return await retry.retrying(
            lambda: self._load(kid), tries=20, retry_result=lambda key: key is None, backoff=THEIRS_POLL
        )

    async def _create(self, kid: str) -> rsa.RSAPrivateKey | None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        try:
            doc = await self.couch.get_doc(names.SYSTEM_AUTH, kid)
        except NotFound as exc:
            if exc.db_missing:
                await self.writes.create_db(names.SYSTEM_AUTH)
            doc = {"_id": kid, **system_pvt_fields(names.SYSTEM_AUTH, self.node), "pvt_type": "system_key"}
            try:
                await self.writes.save(names.SYSTEM_AUTH, doc)
            except Conflict:
                return await self._theirs(kid)
        try:
            await self.writes.put_attachment(names.SYSTEM_AUTH, doc, ATTACHMENT, private_key_pem(key), ATTACHMENT_CTYPE)
        except Conflict:
            return await self._theirs(kid)
        return key
