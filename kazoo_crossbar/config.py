"""Service settings: command-line options with environment fallbacks (decisions.md)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

DEFAULT_COUCHDB_URL = "http://127.0.0.1:5984"


@dataclass(frozen=True)
class Settings:
    couchdb_url: str = DEFAULT_COUCHDB_URL
    host: str = "0.0.0.0"
    port: int = 8000
    amqp_url: str | None = None
    # The node name Kazoo components see (pvt_node, envelope `node`); Kazoo's are `app@host`.
    node_name: str = f"kazoo_crossbar@{socket.gethostname()}"
    zone: str = "local"
    log_format: str = "json"

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {
            "couchdb_url": env.get("KAZOO_COUCHDB_URL", DEFAULT_COUCHDB_URL),
            "host": env.get("KAZOO_CROSSBAR_HOST", "0.0.0.0"),
            "port": int(env.get("KAZOO_CROSSBAR_PORT", "8000")),
            "amqp_url": env.get("KAZOO_AMQP_URL") or None,
            "node_name": env.get("KAZOO_NODE_NAME") or cls.node_name,
            "zone": env.get("KAZOO_ZONE", "local"),
            "log_format": env.get("KAZOO_LOG_FORMAT", "json"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
