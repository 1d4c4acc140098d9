"""WebSocket frames get the REST body's discipline: strict JSON, strict types, a coded error, no change.

Also the ``$connect`` timestamp: only plain ASCII digits of sane length (issue 13).
"""

from __future__ import annotations

import json

import pytest
from realtime_fakes import FakeBooks, FakeSender, FakeStore, instruments
from trading.auth import ApiKey, Scope, hash_secret, sign, ws_string_to_sign
from trading.domain.errors import DomainError, ErrorCode
from trading.realtime.session import Session, authenticate

NOW_MS = 1_764_072_000_000
KEY = ApiKey("ak_1", "acct-1", hash_secret("s3cret"), frozenset({Scope.READ}))


def _world() -> tuple[FakeStore, FakeSender, Session]:
    store, sender = FakeStore(), FakeSender()
    store.add_connection("c-1", "acct-1", "ak_1")
    return store, sender, Session(store, sender, FakeBooks(), instruments)


SUBSCRIBE = '{"action": "subscribe", "channel": "trades:BTC-USD"'


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (SUBSCRIBE + ', "channel": "trades:ETH-USD"}', "MALFORMED_JSON"),  # duplicate key
        (SUBSCRIBE + ', "id": NaN}', "MALFORMED_JSON"),
        (SUBSCRIBE + ', "id": ' + "[" * 40 + "]" * 40 + "}", "MALFORMED_JSON"),  # nesting
        ('{"action": "subscribe", "channel": "\\ud800"}', "MALFORMED_JSON"),  # lone surrogate
        ("[" * 2000 + "]" * 2000, "MALFORMED_JSON"),
        (SUBSCRIBE + ', "id": 7}', "VALIDATION_ERROR"),  # an id is a string, not coerced
        ('{"action": "subscribe", "channel": 5}', "VALIDATION_ERROR"),
        ('{"action": ["subscribe"], "channel": "trades:BTC-USD"}', "VALIDATION_ERROR"),
        ('"subscribe"', "VALIDATION_ERROR"),
        ("null", "VALIDATION_ERROR"),
        ('{"action": "subscribe", "channel": "trades:BTC-USD\\u0000"}', "UNKNOWN_SYMBOL"),
    ],
)
def test_a_malformed_frame_gets_a_coded_error_and_subscribes_nothing(frame: str, code: str) -> None:
    # Given a registered connection
    store, sender, session = _world()
    # When the frame arrives
    session.handle("c-1", frame)
    # Then exactly one error reply with the stable code, and no subscription
    [reply] = [json.loads(payload) for _, payload in sender.posts]
    assert (reply["type"], reply["code"]) == ("error", code), reply
    assert not any(store.subscriptions.values())


def test_the_well_formed_frame_subscribes() -> None:
    store, sender, session = _world()
    session.handle("c-1", SUBSCRIBE + "}")
    assert json.loads(sender.posts[0][1])["type"] == "subscribed"
    assert any(store.subscriptions.values())


@pytest.mark.parametrize("ts", ["²", "١٢", "1" * 5000, "+1764072000000", " 1764072000000", "1e12"])
def test_a_connect_timestamp_that_is_not_ascii_digits_is_stale_not_an_error(ts: str) -> None:
    query = {"key": "ak_1", "ts": ts, "sig": sign("s3cret", ws_string_to_sign(ts))}
    with pytest.raises(DomainError) as raised:
        authenticate(query, lambda _: KEY, NOW_MS, 30)
    assert raised.value.code is ErrorCode.STALE_REQUEST
