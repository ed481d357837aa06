from kazoo_crossbar.bus import messages

from ..kazoo_api import check_message

AID = "6b71cb72c876b5b1396a335f8f8a2594"


def test_amqp_encode():
    assert messages.amqp_encode("+12223334444") == "%2B12223334444"
    assert messages.amqp_encode("a.b c/d") == "a%2Eb+c%2Fd"
    assert messages.amqp_encode("safe-~_Az09") == "safe-~_Az09"
    assert messages.amqp_encode("é") == "%C3%A9"
    assert messages.amqp_encode("*") == "*"


def test_doc_created_in_an_account_db():
    doc = {"_id": "res1", "pvt_type": "resource", "pvt_account_id": AID, "pvt_created": 1, "pvt_modified": 2}
    key, payload = messages.doc_change(f"account/6b/71/{AID[4:]}", doc, "1-abc", "n@h", created=True, msg_id="req")
    assert check_message("configuration", key, payload) == []
    assert key == f"doc_created.account%2F6b%2F71%2F{AID[4:]}.resource.res1"
    assert payload["Event-Category"] == "configuration" and payload["Event-Name"] == "doc_created"
    assert payload["Database"] == f"account%2F6b%2F71%2F{AID[4:]}" and payload["Rev"] == "1-abc"
    assert payload["Account-ID"] == AID and payload["Date-Created"] == 1 and payload["Date-Modified"] == 2
    assert payload["Is-Soft-Deleted"] is False and payload["App-Name"] == "datamgr"
    assert payload["Origin-Cache"] == "kazoo_data_cache" and payload["Msg-ID"] == "req"


def test_edited_deleted_and_numbers():
    doc = {"_id": "+12223334444", "pvt_type": "number"}
    key, payload = messages.doc_change("numbers/+1222", doc, "2-x", "n@h", created=False)
    assert key == "doc_edited.numbers%2F%2B1222.number.%2B12223334444"
    assert "Account-ID" not in payload and check_message("configuration", key, payload) == []
    key, payload = messages.doc_change("offnet", {**doc, "pvt_deleted": True}, "3-x", "n@h", created=False)
    assert key.startswith("doc_deleted.offnet.") and payload["Is-Soft-Deleted"] is True
    key, payload = messages.doc_change("offnet", doc, "4-x", "n@h", created=False, hard_deleted=True)
    assert key.startswith("doc_deleted.") and payload["Is-Soft-Deleted"] is False
    assert check_message("configuration", key, payload) == []
    assert messages.doc_change("offnet", {"_id": "_design/resources"}, "1-x", "n@h", created=True) is None


def test_created_means_no_revision_before_the_save():
    """kzs_publish:publish_doc: the document given to the save had no `_rev` → created, whatever
    the new revision (a hard-deleted id saved again gets `3-…`); one that had a `_rev` → edited."""
    doc = {"_id": "res1", "pvt_type": "resource"}
    assert messages.doc_change("offnet", doc, "3-abc", "n@h", created=True)[0].startswith("doc_created.")
    assert messages.doc_change("offnet", doc, "1-abc", "n@h", created=False)[0].startswith("doc_edited.")


def test_every_message_has_a_msg_id():
    """kz_api:prepare_api_payload sets `Msg-ID` (rand_hex(16)) when the caller gives none: a
    message without it fails kz_api:validate and Kazoo drops it."""
    doc = {"_id": "+12223334444", "pvt_type": "number"}
    _, first = messages.doc_change("numbers/+1222", doc, "2-x", "n@h", created=False)
    _, second = messages.doc_change("numbers/+1222", doc, "2-x", "n@h", created=False, msg_id="")
    assert len(first["Msg-ID"]) == 32 and len(second["Msg-ID"]) == 32 and first["Msg-ID"] != second["Msg-ID"]
    for built in (
        messages.delegate_job(AID, "202611-abcd", "n@h", None),
        messages.switch_reload("reload_gateways", "n@h"),
    ):
        assert len(built[1]["Msg-ID"]) == 32
    for exchange, (key, payload) in (
        ("kapps", messages.delegate_job(AID, "202611-abcd", "n@h", None)),
        ("switch", messages.switch_reload("reload_gateways", "n@h")),
        ("configuration", messages.doc_change("offnet", {"_id": "r"}, "1-x", "n@h", created=True)),
        ("configuration", messages.db_change("numbers/+1222", "created", "n@h")),
    ):
        assert check_message(exchange, key, payload) == [], (exchange, key)
        assert payload["Node"] == "n@h"
        stripped = {k: v for k, v in payload.items() if k != "Msg-ID"}
        assert "default header Msg-ID missing or empty" in check_message(exchange, key, stripped)


def test_db_created_as_kzs_db_publishes_it():
    """kzs_db:db_create → kzs_publish:publish_db(Db, created) → kapi_conf:publish_db_update: the
    routing key `db_created.<Db>.database.<encoded Db>`, Type `database`, datamgr 1.0.0."""
    key, payload = messages.db_change(f"account/6b/71/{AID[4:]}-202611", "created", "n@h", msg_id="m1")
    db = f"account%2F6b%2F71%2F{AID[4:]}-202611"
    assert key == f"db_created.{db}.database.account%252F6b%252F71%252F{AID[4:]}-202611"
    assert payload == {
        "Type": "database",
        "ID": db,
        "Database": db,
        "Event-Category": "configuration",
        "Event-Name": "db_created",
        "App-Name": "datamgr",
        "App-Version": "1.0.0",
        "Node": "n@h",
        "Msg-ID": "m1",
    }


def test_account_id_from_modb_name():
    key, payload = messages.doc_change(
        f"account/6b/71/{AID[4:]}-202611", {"_id": "202611-ab", "pvt_type": "resource_job"}, "1-x", "n@h", created=True
    )
    assert payload["Account-ID"] == AID and key.startswith(f"doc_created.account%2F6b%2F71%2F{AID[4:]}-202611.")


def test_switch_and_delegate():
    key, payload = messages.switch_reload("reload_acls", "n@h")
    assert key == "switch.reload_acls"
    assert payload["Event-Category"] == "switch_event" and payload["App-Name"] == "switch_event"
    assert payload["App-Version"] == "kapi_switch" and len(payload["Msg-ID"]) == 32
    key, payload = messages.delegate_job(AID, "202611-abcd", "n@h", "req1")
    assert key == "delegate.cb_jobs_listener"
    assert payload["Delegate-Message"] == {"Account-ID": AID, "Job-ID": "202611-abcd"}
    assert payload["Event-Category"] == "delegate" and payload["Event-Name"] == "job"
    assert payload["App-Name"] == "crossbar" and payload["Msg-ID"] == "req1"


def test_doc_cache_follows_routing_keys():
    from kazoo_crossbar.storage.doc_cache import DocCache

    cache = DocCache()
    cache.put("offnet", {"_id": "x"})
    assert cache.get("offnet", "x") is None  # disabled until the bus is connected
    cache.set_enabled(True)
    db = f"account/6b/71/{AID[4:]}"
    for doc_id in ("res.1", "a b", "+12223334444"):
        cache.put(db, {"_id": doc_id})
        assert cache.get(messages.names.encode(db), doc_id) == {"_id": doc_id}
        key, _ = messages.doc_change(db, {"_id": doc_id, "pvt_type": "resource"}, "2-x", "n@h", created=False)
        cache.on_routing_key(key)
        assert cache.get(db, doc_id) is None
    cache.put("offnet", {"_id": "y"})
    cache.set_enabled(False)
    assert cache.get("offnet", "y") is None


def test_queue_arguments_are_kazoo_defaults():
    # kz_amqp_util:queue_arguments/1: x-max-length 100, x-message-ttl 60000 unless told otherwise
    assert messages.queue_arguments() == {"x-max-length": 100, "x-message-ttl": 60000}
    assert messages.queue_arguments({"x-max-length": 5}) == {"x-max-length": 5, "x-message-ttl": 60000}
    assert messages.queue_arguments({"x-message-ttl": None}) == {"x-max-length": 100}  # Kazoo's `infinity`
