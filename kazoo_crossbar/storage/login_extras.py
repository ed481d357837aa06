"""The parts of a login answer that come from system_config (crossbar_util:populate_resp/3):
`cluster_id` (kzd_cluster:id/0), `capabilities` (get_capabilities/0) and `ui_config`
(get_ui_config/0).

`cluster_id` is written when missing, as kzd_cluster:id/0 does (a random id under `cluster`'s
`default`, so every node answers the same one). The rest is read without writing Kazoo's
defaults back (a login writes nothing else; Kazoo nodes write the same values on their reads)."""

from __future__ import annotations

import secrets
from typing import Any

from .system_config import SystemConfig

# kazoo_asr providers and where each keeps its key (kazoo_asr_<provider>:available/0)
ASR_KEYS = {
    "ispeech": ("speech", "asr_api_key"),
    "google": ("speech.google", "asr_api_key"),
    "ibm": ("speech.ibm", "asr_api_key"),
}
# crossbar_util:get_ui_config/0: system_config category → `ui_config.api.<name>.url`
UI_URLS = (
    ("provisioner", "provisioning_url", "provisioner"),
    ("mobile", "url", "mobile"),
    ("blackhole", "url", "kazoo_websocket"),
    ("webrtc", "url", "webrtc_websocket"),
    ("phonebook", "url", "phonebook"),
    ("cluster_manager", "url", "cluster_manager"),
)
_EMPTY = ("", "0", "NULL", "undefined")


def _not_empty(value: Any) -> bool:
    """kz_term:is_not_empty/1 for what a config value can be."""
    return value is not None and value is not False and value not in _EMPTY and value not in (0, [], {})


def _is_true(value: Any) -> bool:
    """kz_term:is_true/1."""
    return value is True or value == "true"


async def cluster_id(config: SystemConfig) -> str:
    """kzd_cluster:id/0: `cluster.cluster_id` of the `default` section, a random one written there
    when missing."""
    value = await config.get_path("cluster", ("cluster_id",), sections=("default", config.zone))
    if isinstance(value, str) and value:
        return value
    written = await config.get("cluster", "cluster_id", secrets.token_hex(16))
    return str(written)


async def capabilities(config: SystemConfig) -> dict:
    """crossbar_util:get_transcription_capabilities/1: whether the ASR provider of `speech` has its
    API key (kazoo_asr:available/0, `ispeech` by default; an unknown provider is not available),
    and `callflow`'s `voicemail.transcribe_default`."""
    provider = await config.get("speech", "asr_provider")
    if not isinstance(provider, str) or not provider:
        provider = "ispeech"
    where = ASR_KEYS.get(provider)
    available = where is not None and _not_empty(await config.get(*where))
    default = _is_true(await config.get_path("callflow", ("voicemail", "transcribe_default")))
    return {"voicemail": {"transcription": {"available": available, "default": default}}}


async def ui_config(config: SystemConfig) -> dict:
    """crossbar_util:get_ui_config/0: `{"api": {<name>: {"url": …}}}` for each URL that is set."""
    api = {}
    for category, key, name in UI_URLS:
        url = await config.get(category, key)
        if _not_empty(url):
            api[name] = {"url": url if isinstance(url, str) else str(url)}
    return {"api": api} if api else {}
