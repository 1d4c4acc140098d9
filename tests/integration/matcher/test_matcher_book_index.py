"""Recovery finds a symbol's resting orders through the sparse ``by-book`` index of OrdersTable.

The index is eventually consistent in AWS: recovery trusts it only when it names as many resting
orders as the checkpoint counts, and otherwise scans the table. moto's index is always current,
so the lag is reproduced by taking ``book_symbol`` off an item.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from matcher_cloud import check_exactly_once, limit
from matcher_service import store as store_module
from trading.domain.enums import Side
from trading.engine.commands import Cancel


def record_calls(matcher: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every DynamoDB call the matcher's store makes from now on: (operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def before_build(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    matcher.store._ddb.meta.events.register("before-parameter-build.dynamodb", before_build)
    return calls


def scanned_orders(calls: list[tuple[str, dict[str, Any]]], orders_table: str) -> bool:
    return any(op == "Scan" and body.get("TableName") == orders_table for op, body in calls)


@pytest.fixture
def committed_book(cloud, make_matcher):
    """A first matcher leaves a book with resting, filled, partly filled and canceled orders."""
    first = make_matcher()
    first.recover()
    for command in (
        limit("b1", "bob", Side.BUY, 2_900_000, 3),
        limit("b2", "dave", Side.BUY, 2_900_000, 3),
        limit("b3", "erin", Side.BUY, 2_900_100, 3),
        limit("a1", "alice", Side.SELL, 3_100_000, 4),
        limit("s1", "alice", Side.SELL, 2_900_000, 4),  # fills b3, takes 1 of b1
    ):
        cloud.send(command)
    first.poll_once()
    cloud.send(Cancel("b2", "dave", "BTC-USD"), dedup_id="cancel-b2")
    first.poll_once()
    check_exactly_once(cloud, "BTC-USD", ["b1", "b2", "b3", "a1", "s1"])
    return first


def test_recovery_queries_the_index_and_rebuilds_the_same_book(cloud, make_matcher, committed_book):
    # Given the committed book: b1 (2 left) and a1 rest, b2 canceled, b3 and s1 filled
    assert cloud.book_items("BTC-USD")["checkpoint"]["resting"] == 2

    # When a second matcher recovers
    second = make_matcher()
    calls = record_calls(second)
    second.recover()

    # Then it asked the by-book index, never scanned the orders, and has the first one's book
    assert any(op == "Query" and body.get("IndexName") == "by-book" for op, body in calls)
    assert not scanned_orders(calls, cloud.names["orders"])
    first_book = committed_book.books["BTC-USD"].book
    assert second.books["BTC-USD"].book.state_hash() == first_book.state_hash()
    assert set(second.books["BTC-USD"].views) == {"b1", "a1"}


def test_an_order_the_index_has_not_caught_up_with_is_found_by_a_scan(
    cloud, make_matcher, committed_book, monkeypatch, caplog
):
    # Given the index missing a resting order (as a lagging GSI would), and a short backoff
    cloud.ddb.update_item(
        TableName=cloud.names["orders"],
        Key={"order_id": {"S": "a1"}},
        UpdateExpression="REMOVE book_symbol",
    )
    monkeypatch.setattr(store_module, "INDEX_WAIT_SECONDS", (0.01, 0.01))

    # When a second matcher recovers
    second = make_matcher()
    calls = record_calls(second)
    with caplog.at_level(logging.WARNING, logger="matcher_service.store"):
        second.recover()

    # Then the index was asked once per wait, the table scanned, and the book is still whole
    btc_index_queries = [
        body
        for op, body in calls
        if op == "Query"
        and body.get("IndexName") == "by-book"
        and body["ExpressionAttributeValues"][":sym"] == {"S": "BTC-USD"}
    ]
    assert len(btc_index_queries) == 3  # the first try and one after each wait
    assert scanned_orders(calls, cloud.names["orders"])
    assert "shows 1 of 2 resting BTC-USD orders" in caplog.text
    assert set(second.books["BTC-USD"].views) == {"b1", "a1"}
    assert second.books["BTC-USD"].book.state_hash() == committed_book.books["BTC-USD"].book.state_hash()


def test_a_checkpoint_without_a_count_is_recovered_by_a_scan(cloud, make_matcher, committed_book):
    # Given a checkpoint written before it carried the resting count
    cloud.ddb.update_item(
        TableName=cloud.names["books"],
        Key={"symbol": {"S": "BTC-USD"}, "sk": {"S": "checkpoint"}},
        UpdateExpression="REMOVE resting",
    )

    # When a second matcher recovers and trades against the rebuilt book
    second = make_matcher()
    calls = record_calls(second)
    second.recover()
    cloud.send(limit("s2", "alice", Side.SELL, 2_900_000, 2))
    second.poll_once()

    # Then it scanned, found b1, and its next commit wrote the count again
    assert scanned_orders(calls, cloud.names["orders"])
    assert cloud.order("b1")["status"] == "FILLED"
    assert cloud.book_items("BTC-USD")["checkpoint"]["resting"] == 1  # a1
    assert "book_symbol" not in cloud.order("b1")
