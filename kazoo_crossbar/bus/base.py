"""What the rest of the service needs of the message bus, and the bus of a node without a
broker (`NullBus`: nothing is published, delegation is refused so the job runs here).

`AmqpBus` (amqp.py) is the real one. Change events are published only by the storage write
path (storage/writes.py), which sees the bus through this protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

OnJob = Callable[[str, str], Awaitable[str]]  # (account id, job id) → outcome


class Bus(Protocol):
    connected: bool

    async def start(self, on_job: OnJob) -> None: ...

    async def stop(self) -> None: ...

    async def doc_changed(
        self,
        db: str,
        doc: dict,
        rev: str,
        *,
        created: bool = False,
        hard_deleted: bool = False,
        msg_id: str | None = None,
    ) -> None: ...

    async def db_created(self, db: str) -> None: ...

    async def reload_switch(self) -> None: ...

    async def delegate_job(self, account_id: str, job_id: str, msg_id: str | None) -> bool: ...


class NullBus:
    """The bus of a node without a broker; passed by name wherever there truly is none."""

    connected = False

    async def start(self, on_job: OnJob) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def doc_changed(
        self,
        db: str,
        doc: dict,
        rev: str,
        *,
        created: bool = False,
        hard_deleted: bool = False,
        msg_id: str | None = None,
    ) -> None:
        return None

    async def db_created(self, db: str) -> None:
        return None

    async def reload_switch(self) -> None:
        return None

    async def delegate_job(self, account_id: str, job_id: str, msg_id: str | None) -> bool:
        return False
