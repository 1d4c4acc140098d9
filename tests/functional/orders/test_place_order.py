"""place_order handler in-process: validation codes, funds holds, PENDING record, queued command."""

from __future__ import annotations

import json

import pytest
from order_stack import OrderStack, call, load_function, place_order_event


@pytest.fixture
def place(order_stack: OrderStack):
    module = load_function("place_order")

    def _place(body: dict | str, account_id: str = "alice", scopes: str = "read,trade") -> tuple[int, dict]:
        return call(module, place_order_event(body, account_id, scopes))

    return _place


LIMIT_BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.50", "quantity": "0.0150"}


def test_limit_buy_holds_notional_plus_taker_fee_and_queues_the_order(order_stack: OrderStack, place) -> None:
    # Given alice holds 1000 USD
    order_stack.fund("alice", USD="1000")
    # When she buys 0.015 BTC at 30000.50
    status, body = place({**LIMIT_BUY, "client_order_id": "c-1"})
    # Then the order is PENDING and 450.0075 USD + 0.2% taker fee (0.900015 -> 0.900015) is held
    assert status == 201, body
    assert body["status"] == "PENDING" and body["price"] == "30000.50" and body["quantity"] == "0.0150"
    notional = 3000050 * 150 * 1  # price units * quantity units -> quote atoms (10^-6)
    fee = -(-notional * 20 // 10_000)
    assert order_stack.balance("alice", "USD") == (1_000_000_000 - notional - fee, notional + fee)
    assert order_stack.holds("alice") == [(body["order_id"], "USD", notional + fee, "ACTIVE")]
    # And exactly one `new` command was queued with the order id as dedup id
    [command] = order_stack.receive_commands()
    assert command["type"] == "new" and command["order_id"] == body["order_id"]
    assert command["price"] == 3000050 and command["quantity"] == 150
    assert command["_dedup"] == body["order_id"] and command["_group"] == "BTC-USD"


def test_sell_holds_base_atoms(order_stack: OrderStack, place) -> None:
    # Given alice holds 1 BTC
    order_stack.fund("alice", BTC="1")
    # When she sells 0.25 BTC
    status, body = place(
        {"symbol": "BTC-USD", "side": "SELL", "type": "LIMIT", "price": "31000", "quantity": "0.25"}
    )
    # Then 0.25 BTC (25,000,000 atoms) is held
    assert status == 201, body
    assert order_stack.balance("alice", "BTC") == (75_000_000, 25_000_000)


def test_market_buy_holds_budget_plus_fee(order_stack: OrderStack, place) -> None:
    # Given alice holds 200 USD
    order_stack.fund("alice", USD="200")
    # When she market-buys with a 100 USD budget
    status, body = place(
        {"symbol": "BTC-USD", "side": "BUY", "type": "MARKET", "quote_amount": "100", "time_in_force": "IOC"}
    )
    # Then 100 USD + 0.2% fee is held
    assert status == 201, body
    assert order_stack.balance("alice", "USD") == (200_000_000 - 100_200_000, 100_200_000)
    # And the command carries the budget in notional units (10^-(2+4) USD); price and quantity,
    # which a budget-only market buy does not have, are left out of the message
    [command] = order_stack.receive_commands()
    assert command["quote_budget"] == 100_000_000
    assert "price" not in command and "quantity" not in command
    assert (command["order_type"], command["time_in_force"]) == ("MARKET", "IOC")


def test_insufficient_funds_is_422_and_holds_nothing(order_stack: OrderStack, place) -> None:
    # Given alice holds 10 USD
    order_stack.fund("alice", USD="10")
    # When she tries to buy 450 USD worth
    status, body = place(LIMIT_BUY)
    # Then 422 INSUFFICIENT_FUNDS, nothing held, nothing queued
    assert (status, body["code"]) == (422, "INSUFFICIENT_FUNDS")
    assert order_stack.balance("alice", "USD") == (10_000_000, 0)
    assert order_stack.holds("alice") == []
    assert order_stack.receive_commands() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"symbol": "BTC-USD", ', "MALFORMED_JSON"),
        ({**LIMIT_BUY, "leverage": 10}, "UNKNOWN_FIELD"),
        ({**LIMIT_BUY, "price": "30000.505"}, "INVALID_PRICE"),
        ({**LIMIT_BUY, "quantity": "0.00001"}, "INVALID_QUANTITY"),
        ({**LIMIT_BUY, "price": 30000.5}, "INVALID_PRICE"),
        ({**LIMIT_BUY, "symbol": "DOGE-USD"}, "UNKNOWN_SYMBOL"),
        ({**LIMIT_BUY, "side": "SIDEWAYS"}, "VALIDATION_ERROR"),
        ({key: v for key, v in LIMIT_BUY.items() if key != "price"}, "PRICE_REQUIRED"),
        ({**LIMIT_BUY, "type": "MARKET"}, "PRICE_NOT_ALLOWED"),
        ({**LIMIT_BUY, "price": "1.00", "quantity": "0.0001"}, "NOTIONAL_BELOW_MIN"),
        ({**LIMIT_BUY, "quantity": "101"}, "QUANTITY_ABOVE_MAX"),
        ({"symbol": "BTC-USD", "side": "BUY", "type": "MARKET", "quantity": "1"}, "INVALID_AMOUNT"),
        (
            {"symbol": "BTC-USD", "side": "BUY", "type": "MARKET", "quote_amount": "10", "post_only": True},
            "INVALID_ORDER_TYPE",
        ),
    ],
)
def test_bad_requests_get_400_with_a_code_and_hold_nothing(
    order_stack: OrderStack, place, body, code
) -> None:
    # Given a funded account
    order_stack.fund("alice", USD="1000000", BTC="100")
    # When the request is wrong
    status, answer = place(body)
    # Then 400 with the specific code, and nothing is held or queued
    assert (status, answer["code"]) == (400, code), answer
    assert order_stack.balance("alice", "USD")[1] == 0
    assert order_stack.receive_commands() == []


def test_halted_instrument_is_422(order_stack: OrderStack, place) -> None:
    # Given BTC-USD is halted
    from trading import admin
    from trading.api import wiring

    order_stack.fund("alice", USD="1000")
    admin.halt(wiring.instruments(), "BTC-USD")
    # When alice places an order
    status, body = place(LIMIT_BUY)
    # Then it is rejected and nothing is held
    assert (status, body["code"]) == (422, "INSTRUMENT_HALTED")
    assert order_stack.balance("alice", "USD") == (1_000_000_000, 0)


def test_read_only_key_is_forbidden(order_stack: OrderStack, place) -> None:
    # Given a key with only the read scope
    order_stack.fund("alice", USD="1000")
    # When it places an order
    status, body = place(LIMIT_BUY, scopes="read")
    # Then 403 FORBIDDEN and nothing held
    assert (status, body["code"]) == (403, "FORBIDDEN")
    assert order_stack.balance("alice", "USD") == (1_000_000_000, 0)


def test_body_that_does_not_match_the_signed_hash_is_rejected(order_stack: OrderStack) -> None:
    # Given an event whose body was swapped after signing
    order_stack.fund("alice", USD="1000")
    module = load_function("place_order")
    event = place_order_event(LIMIT_BUY)
    event["body"] = json.dumps({**LIMIT_BUY, "quantity": "0.0300"})
    # When it reaches the handler
    status, body = call(module, event)
    # Then 401 INVALID_SIGNATURE
    assert (status, body["code"]) == (401, "INVALID_SIGNATURE")


def test_missing_authorizer_context_is_401(order_stack: OrderStack) -> None:
    # Given an event that did not pass through the authorizer
    module = load_function("place_order")
    event = place_order_event(LIMIT_BUY, account_id=None)
    # When / Then
    status, body = call(module, event)
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")
