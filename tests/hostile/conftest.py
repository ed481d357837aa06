"""Fixtures shared by the hostile tests (a module-scoped fixture is still one per test module)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
async def tenant(kazoo):
    """An account of its own and its token headers (test_job_metadata.py adds a carrier to its own)."""
    account = await kazoo.account()
    return account, {"X-Auth-Token": await kazoo.token_for(account)}
