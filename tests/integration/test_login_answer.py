"""A login answer as Kazoo 4.3 builds it (crossbar_util:populate_resp/3): besides apps, language,
account name and reseller, `cluster_id` (kzd_cluster:id/0), `capabilities`
(get_capabilities/0: voicemail transcription) and `ui_config` (get_ui_config/0: the URLs the UI
needs), each from the system_config Kazoo reads it from."""

from __future__ import annotations

import secrets

from kazoo_crossbar.storage.provision import credentials


async def login(client, kazoo, account) -> dict:
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": account["pvt_api_key"]}})
    body = await resp.json()
    assert resp.status == 201, body
    return body["data"]


async def test_the_answer_has_kazoos_keys_in_kazoos_order(client, couch, kazoo):
    account = await kazoo.account()
    data = await login(client, kazoo, account)
    assert list(data) == [
        "account_id",
        "apps",
        "language",
        "account_name",
        "cluster_id",
        "reseller_id",
        "is_reseller",
        "is_master_account",
        "capabilities",
        "ui_config",
    ]
    # kzd_cluster:id/0 writes a random id the first time; every later answer (any node's) is that one
    stored = (await couch.get_doc("system_config", "cluster"))["default"]["cluster_id"]
    assert data["cluster_id"] == stored and len(stored) == 32
    assert (await login(client, kazoo, account))["cluster_id"] == stored
    # user_auth answers the same way
    await kazoo.user(account, "answer-user", "pw-answer")
    creds, _ = credentials("answer-user", "pw-answer")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "account_name": account["name"]}})
    body = await resp.json()
    assert resp.status == 201 and body["data"]["cluster_id"] == stored and "capabilities" in body["data"]


async def test_capabilities_follow_speech_and_callflow(client, kazoo):
    account = await kazoo.account()
    off = {"voicemail": {"transcription": {"available": False, "default": False}}}
    assert (await login(client, kazoo, account))["capabilities"] == off  # ispeech without a key
    async with kazoo.system_config("speech", asr_api_key=secrets.token_hex(8)):
        caps = (await login(client, kazoo, account))["capabilities"]
        assert caps["voicemail"]["transcription"]["available"] is True
        async with kazoo.system_config("speech", asr_provider="google"):  # its key lives in speech.google
            caps = (await login(client, kazoo, account))["capabilities"]
            assert caps["voicemail"]["transcription"]["available"] is False
            async with kazoo.system_config("speech.google", asr_api_key="g-key"):
                caps = (await login(client, kazoo, account))["capabilities"]
                assert caps["voicemail"]["transcription"]["available"] is True
        async with kazoo.system_config("speech", asr_provider="nuance"):  # no such kazoo_asr module
            caps = (await login(client, kazoo, account))["capabilities"]
            assert caps["voicemail"]["transcription"]["available"] is False
    async with kazoo.system_config("callflow", voicemail={"transcribe_default": True}):
        caps = (await login(client, kazoo, account))["capabilities"]
        assert caps == {"voicemail": {"transcription": {"available": False, "default": True}}}


async def test_ui_config_names_the_urls_that_are_set(client, kazoo):
    account = await kazoo.account()
    assert (await login(client, kazoo, account))["ui_config"] == {}
    async with (
        kazoo.system_config("provisioner", provisioning_url="http://prov.example/api"),
        kazoo.system_config("blackhole", url="wss://ws.example:5555"),
        kazoo.system_config("webrtc", url=""),  # empty: left out, as get_ne_binary leaves it
    ):
        assert (await login(client, kazoo, account))["ui_config"] == {
            "api": {
                "provisioner": {"url": "http://prov.example/api"},
                "kazoo_websocket": {"url": "wss://ws.example:5555"},
            }
        }


async def test_only_the_master_account_is_the_master(client, kazoo, master):
    """crossbar_util:is_master_account/1 compares with kapps_util:get_master_account_id/0 (the
    configured master): another super-duper admin account is not the master."""
    other_admin = await kazoo.account(superduper=True)
    assert (await login(client, kazoo, other_admin))["is_master_account"] is False
    assert (await login(client, kazoo, await kazoo.account()))["is_master_account"] is False
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": master["api_key"]}})
    assert (await resp.json())["data"]["is_master_account"] is True
