"""AWS API calls made by one order placement, counted with botocore's event hooks.

These are the numbers the capacity model uses (docs/api.md, "AWS calls per order"); a change in
the intake that adds a call shows up here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from order_stack import OrderStack, call, load_function, place_order_event
from trading.adapters import aws

ORDER = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}


@pytest.fixture
def counted(order_stack: OrderStack, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    monkeypatch.setenv("INSTRUMENTS_CACHE_SECONDS", "3600")  # a warm container's cache
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}.{model.name}"] += 1

    for client in (aws.client("dynamodb"), aws.resource("dynamodb").meta.client, aws.client("sqs")):
        client.meta.events.register("before-call.*.*", count)
    return calls


def place(body: dict[str, Any]) -> int:
    status, _ = call(load_function("place_order"), place_order_event(body))
    return status


def test_calls_per_order_on_a_warm_container(order_stack: OrderStack, counted: Counter[str]) -> None:
    # Given a warm container (one order placed: instruments cached, DB connected)
    order_stack.fund("alice", USD="10000")
    assert place(ORDER) == 201
    counted.clear()
    # When one order without and one with a client order id are placed
    assert place(ORDER) == 201
    without_id = dict(counted)
    counted.clear()
    assert place({**ORDER, "client_order_id": "counted-1"}) == 201
    with_id = dict(counted)
    # Then: Orders PutItem + SendMessage; idempotency adds its PutItem (in progress) + UpdateItem
    assert without_id == {"dynamodb.PutItem": 1, "sqs.SendMessage": 1}
    assert with_id == {"dynamodb.PutItem": 2, "dynamodb.UpdateItem": 1, "sqs.SendMessage": 1}
