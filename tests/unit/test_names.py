from datetime import UTC, datetime

import pytest

from kazoo_crossbar.storage import names

AID = "6b71cb72c876b5b1396a335f8f8a2594"


def test_account_db_forms_round_trip():
    db = names.account_db(AID)
    assert db == "account/6b/71/cb72c876b5b1396a335f8f8a2594"
    assert names.encode(db) == "account%2F6b%2F71%2Fcb72c876b5b1396a335f8f8a2594"
    for form in (AID, db, names.encode(db), "account%2f6b%2f71%2fcb72c876b5b1396a335f8f8a2594"):
        assert names.account_id(form) == AID
        assert names.account_db(form) == db


def test_fixture_style_ids_are_accepted():
    aid = "account0000000000000000000000001"
    assert names.is_account_id(aid)
    assert names.account_db(aid) == "account/ac/co/unt0000000000000000000000001"


@pytest.mark.parametrize("bad", ["", "short", AID.upper(), AID + "0", "6b71cb72c876b5b1396a335f8f8a259-"])
def test_bad_account_ids(bad):
    assert not names.is_account_id(bad)
    with pytest.raises(ValueError):
        names.account_db(bad)


def test_modb_names():
    modb = names.modb(AID, 2024, 5)
    assert modb == "account/6b/71/cb72c876b5b1396a335f8f8a2594-202405"
    assert names.modb_month(modb) == (2024, 5)
    assert names.modb_month(names.encode(modb)) == (2024, 5)
    assert names.modb_month(f"{AID}-202412") == (2024, 12)
    assert names.modb_month(names.account_db(AID)) is None
    assert names.account_id(names.encode(modb)) == AID
    assert names.current_modb(AID, datetime(2026, 1, 31, 23, 59, tzinfo=UTC)).endswith("-202601")


def test_months_between_crosses_years():
    start = datetime(2025, 11, 15, tzinfo=UTC)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    assert names.months_between(start, end) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]


def test_numbers_db_and_url_encoding():
    assert names.numbers_db("+12223334444") == "numbers/+1222"
    assert names.url_path("numbers/+1222") == "numbers%2F%2B1222"
    assert names.url_path("numbers%2F%2B1222") == "numbers%2F%2B1222"
    assert names.encode("numbers/+1222") == "numbers%2F%2B1222"


def test_classify():
    assert names.classify(names.account_db(AID)) == "account"
    assert names.classify(names.encode(names.modb(AID, 2024, 1))) == "modb"
    assert names.classify("numbers/+1222") == "numbers"
    for db in ("offnet", "sip_auth", "accounts"):
        assert names.classify(db) == db
    assert names.classify("system_config") is None


def test_gregorian():
    assert names.unix_to_gregorian(0) == 62167219200
    assert names.gregorian_to_datetime(62167219200) == datetime(1970, 1, 1, tzinfo=UTC)


def test_trial_expired_is_kzd_accounts_is_expired():
    from kazoo_crossbar.storage.accounts import trial_expired, unusable

    now = 63_900_000_000
    assert trial_expired({}, now) is None
    assert trial_expired({"pvt_trial_expires": now + 1}, now) is None
    assert trial_expired({"pvt_trial_expires": now}, now) == now  # trial_time_left =< 0
    assert trial_expired({"pvt_trial_expires": str(now - 5)}, now) == now - 5
    assert trial_expired({"pvt_trial_expires": "soon"}, now) is None
    assert unusable({"pvt_enabled": False}) == {"account": {"disabled": {"message": "account disabled"}}}
    assert unusable({"enabled": True}) is None
