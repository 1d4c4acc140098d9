"""``DynamoConnectionStore`` against moto with the ``Connections`` table from template.yaml."""

from __future__ import annotations

import uuid

import pytest
from trading.realtime import channels
from trading.realtime.store import (
    CONNECTION_TTL_SECONDS,
    MAX_SUBSCRIPTIONS,
    ConnectionGoneError,
    DynamoConnectionStore,
    SubscriptionLimitError,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store_and_clock(tables):
    clock = Clock()
    return DynamoConnectionStore(tables.client, tables.name("CONNECTIONS_TABLE"), clock=clock), clock


def _cid() -> str:
    return uuid.uuid4().hex


def test_subscribers_are_found_through_the_by_channel_index(store_and_clock):
    # Given
    store, _ = store_and_clock
    symbol_channel = channels.trades(f"X{uuid.uuid4().hex[:6].upper()}-USD")
    a, b, c = (store.add_connection(_cid(), "acct", "k") for _ in range(3))
    store.subscribe(a, symbol_channel)
    store.subscribe(b, symbol_channel)
    store.subscribe(c, channels.book("BTC-USD"))
    # When
    found = store.subscribers(symbol_channel.key)
    # Then
    assert sorted(found) == sorted([a.connection_id, b.connection_id])


def test_expired_items_are_ignored_before_ttl_deletes_them(store_and_clock):
    # Given a connection and subscription whose expires_at has passed
    store, clock = store_and_clock
    channel = channels.orders(f"acct-{uuid.uuid4().hex[:6]}")
    connection = store.add_connection(_cid(), "acct", "k")
    store.subscribe(connection, channel)
    # When
    clock.now += CONNECTION_TTL_SECONDS + 1
    # Then
    assert store.get_connection(connection.connection_id) is None
    assert store.subscribers(channel.key) == []


def test_subscribing_a_removed_connection_fails_and_writes_nothing(store_and_clock):
    # Given
    store, _ = store_and_clock
    channel = channels.ticker(f"Z{uuid.uuid4().hex[:6].upper()}-USD")
    connection = store.add_connection(_cid(), "acct", "k")
    assert store.remove_connection(connection.connection_id) == 1
    # When / Then
    with pytest.raises(ConnectionGoneError):
        store.subscribe(connection, channel)
    assert store.subscribers(channel.key) == []


def test_a_connection_holds_at_most_the_subscription_limit(store_and_clock):
    # Given a connection at the limit
    store, _ = store_and_clock
    connection = store.add_connection(_cid(), "acct", "k")
    for n in range(MAX_SUBSCRIPTIONS):
        store.subscribe(connection, channels.trades(f"S{n}-USD"))
    # When / Then
    with pytest.raises(SubscriptionLimitError):
        store.subscribe(connection, channels.trades("ONE-MORE"))
    store.subscribe(connection, channels.trades("S0-USD"))  # repeating one is still fine
    # And removal deletes the connection item and every subscription
    assert store.remove_connection(connection.connection_id) == MAX_SUBSCRIPTIONS + 1
