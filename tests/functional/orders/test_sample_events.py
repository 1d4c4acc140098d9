"""Every sample event in events/ for the order-entry functions runs through its handler as documented."""

from __future__ import annotations

import pytest
from order_stack import FakeLambdaContext, OrderStack, call, load_function, sample_event

API_SAMPLES = [
    ("place_order", "limit_buy", 201),
    ("place_order", "market_buy_budget", 201),
    ("place_order", "unknown_field", 400),
    ("place_order", "malformed_json", 400),
    ("cancel_order", "cancel_one", 404),  # the sample's order id does not exist
    ("cancel_order", "cancel_all", 202),
    ("amend_order", "amend", 404),
    ("account_queries", "get_order", 404),
    ("account_queries", "list_orders", 200),
    ("account_queries", "fills", 200),
    ("account_queries", "balances", 200),
    ("account_queries", "wrong_scope", 403),
    ("market_data", "instruments", 200),
    ("market_data", "book", 200),
    ("market_data", "trades", 200),
    ("market_data", "openapi", 200),
]


@pytest.mark.parametrize(("function", "case", "status"), API_SAMPLES)
def test_api_sample_events(order_stack: OrderStack, function: str, case: str, status: int) -> None:
    # Given alice with funds / When the sample event is handled / Then the documented status
    order_stack.fund("alice", USD="1000")
    answer_status, body = call(load_function(function), sample_event(function, case))
    assert answer_status == status, body


@pytest.mark.parametrize("case", ["signed_post", "signed_get_with_query", "unsigned"])
def test_authorizer_samples_are_refused_later_as_replays(order_stack: OrderStack, case: str) -> None:
    # The samples were signed at a fixed moment in 2026: replayed now, they are outside the window
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        load_function("authorizer").handler(sample_event("authorizer", case), FakeLambdaContext())


def test_admin_seed_demo_sample(order_stack: OrderStack) -> None:
    answer = load_function("admin").handler(sample_event("admin", "seed_demo"), FakeLambdaContext())
    assert answer["ok"] and [a["account_id"] for a in answer["result"]["accounts"]] == ["alice", "bob"]
