import json

import pytest
from realtime_fakes import FakeBooks, FakeSender, FakeStore, instruments
from trading.auth import ApiKey, Scope, hash_secret, sign, ws_string_to_sign
from trading.domain.errors import DomainError, ErrorCode
from trading.realtime.session import Session, authenticate
from trading.realtime.snapshot import BookSnapshot

NOW_MS = 1_764_072_000_000
SECRET = "s3cret"
KEY = ApiKey("ak_1", "acct-1", hash_secret(SECRET), frozenset({Scope.READ, Scope.TRADE}))


def _lookup(key_id):
    return KEY if key_id == KEY.key_id else None


def _query(ts=NOW_MS, secret=SECRET, key="ak_1"):
    return {"key": key, "ts": str(ts), "sig": sign(secret, ws_string_to_sign(ts))}


def test_a_correctly_signed_connect_authenticates_the_keys_account():
    principal = authenticate(_query(), _lookup, NOW_MS, 30)
    assert (principal.account_id, principal.key_id) == ("acct-1", "ak_1")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (None, ErrorCode.UNAUTHENTICATED),
        ({"key": "ak_1", "ts": str(NOW_MS)}, ErrorCode.UNAUTHENTICATED),
        (_query(key="ak_unknown"), ErrorCode.UNAUTHENTICATED),
        (_query(secret="wrong"), ErrorCode.INVALID_SIGNATURE),
        (_query(ts=NOW_MS - 31_000), ErrorCode.STALE_REQUEST),
        ({"key": "ak_1", "ts": "soon", "sig": "00"}, ErrorCode.STALE_REQUEST),
    ],
)
def test_connect_is_refused_without_a_valid_fresh_signature(query, code):
    with pytest.raises(DomainError) as raised:
        authenticate(query, _lookup, NOW_MS, 30)
    assert raised.value.code is code


def test_a_revoked_key_cannot_connect():
    revoked = ApiKey("ak_1", "acct-1", hash_secret(SECRET), frozenset(), active=False)
    with pytest.raises(DomainError) as raised:
        authenticate(_query(), lambda _: revoked, NOW_MS, 30)
    assert raised.value.code is ErrorCode.UNAUTHENTICATED


def _world():
    store, sender, books = FakeStore(), FakeSender(), FakeBooks()
    store.add_connection("c-1", "acct-1", "ak_1")
    return store, sender, books, Session(store, sender, books, instruments)


def _sent(sender):
    return [json.loads(p) for _, p in sender.posts]


def test_subscribe_to_a_book_registers_first_then_sends_the_snapshot():
    # Given a book at seq 41
    store, sender, books, session = _world()
    books.books["BTC-USD"] = BookSnapshot("BTC-USD", 41, [(3000050, 1500), (3000000, 10)], [(3000100, 1)])
    # When
    session.handle("c-1", json.dumps({"action": "subscribe", "channel": "book:BTC-USD", "id": "r1"}))
    # Then
    assert store.subscribers("book:BTC-USD") == ["c-1"]
    assert _sent(sender) == [
        {"type": "subscribed", "channel": "book:BTC-USD", "id": "r1"},
        {
            "type": "snapshot",
            "channel": "book:BTC-USD",
            "seq": 41,
            "bids": [["30000.50", "0.1500"], ["30000.00", "0.0010"]],
            "asks": [["30001.00", "0.0001"]],
        },
    ]


def test_orders_subscription_uses_the_connections_account():
    store, sender, _, session = _world()
    session.handle("c-1", json.dumps({"action": "subscribe", "channel": "orders"}))
    assert store.subscribers("orders:acct-1") == ["c-1"]
    assert _sent(sender) == [{"type": "subscribed", "channel": "orders"}]


def test_unsubscribe_stops_the_subscription():
    store, sender, _, session = _world()
    session.handle("c-1", json.dumps({"action": "subscribe", "channel": "trades:ETH-USD"}))
    session.handle("c-1", json.dumps({"action": "unsubscribe", "channel": "trades:ETH-USD"}))
    assert store.subscribers("trades:ETH-USD") == []
    assert _sent(sender)[-1] == {"type": "unsubscribed", "channel": "trades:ETH-USD"}


def test_ping_gets_pong_with_the_request_id():
    _, sender, _, session = _world()
    session.handle("c-1", json.dumps({"action": "ping", "id": "42"}))
    assert _sent(sender) == [{"type": "pong", "id": "42"}]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{nope", "MALFORMED_JSON"),
        (json.dumps({"action": "dance"}), "VALIDATION_ERROR"),
        (json.dumps({"action": "subscribe"}), "VALIDATION_ERROR"),
        (json.dumps({"action": "subscribe", "channel": "book:DOGE-USD"}), "UNKNOWN_SYMBOL"),
        (json.dumps({"action": "subscribe", "channel": "orders:acct-2"}), "VALIDATION_ERROR"),
        (json.dumps({"action": "subscribe", "channel": "x" * 5000}), "VALIDATION_ERROR"),
        (None, "VALIDATION_ERROR"),
    ],
)
def test_bad_messages_get_an_error_and_change_nothing(body, code):
    store, sender, _, session = _world()
    session.handle("c-1", body)
    [reply] = _sent(sender)
    assert reply["type"] == "error" and reply["code"] == code
    assert not any(store.subscriptions.values())


def test_an_unregistered_connection_cannot_subscribe():
    store, sender, _, session = _world()
    session.handle("c-unknown", json.dumps({"action": "subscribe", "channel": "trades:BTC-USD"}))
    assert _sent(sender)[0]["code"] == "UNAUTHENTICATED"
    assert not any(store.subscriptions.values())
