"""Text from a server made safe to print on a terminal: control characters (which could move the
cursor, recolour or forge lines), Unicode direction overrides and line separators are shown as
escapes, and very long text is cut. Secrets the command was given are never shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

# C0 and C1 controls, DEL, line/paragraph separators, bidirectional embeddings and isolates
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_SHOWN = 500


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, limit: int = MAX_SHOWN) -> str:
    """One line of plain text: every unsafe character escaped, at most `limit` characters."""
    shown = UNSAFE.sub(_escape, str(text))
    return shown if len(shown) <= limit else shown[:limit] + f"… ({len(shown) - limit} more characters)"


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every given secret (an API key, a password) replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
