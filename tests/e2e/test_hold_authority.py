"""No order trades beyond its hold: the reproduction of issue 12 through the API, and the same
amend put straight on ``orders.fifo`` (intake bypassed), where only the matcher can stop it.

An account deposits exactly the hold of BUY 0.0100 BTC @ P (notional + 20 bps taker fee); a
counterparty sells 0.0060 (fills); the buyer asks for an open quantity of 0.0100 again (which would
make the order 0.0160, beyond its hold); the counterparty then sells 0.0100. Every trade must
settle, the buyer ends with exactly 0.0100 BTC, and nothing is left held or in the settlement DLQ.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import orjson
import pytest
from orders_support import Trader, balances, new_trader, runtime_for, start_own_runtime, wait_for, wait_status
from trading.client import decode
from trading.domain.enums import Side
from trading.domain.instruments import demo_instruments
from trading.domain.numbers import format_units
from trading.engine.rules import Grid, required_hold

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SYMBOL = "BTC-USD"
BTC = demo_instruments()[0]


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture
def runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


def _quiet_price(trader: Trader) -> int:
    """A price strictly inside the current spread (other tests may leave orders behind)."""
    book = decode(trader.client.book(SYMBOL))
    best_bid = max((BTC.parse_price(level["price"]) for level in book["bids"]), default=2_000_000)
    best_ask = min((BTC.parse_price(level["price"]) for level in book["asks"]), default=best_bid + 1_000_000)
    assert best_ask - best_bid > 2, "no room inside the spread"
    return (best_bid + best_ask) // 2


def _place(trader: Trader, side: str, price: int, quantity: str) -> dict[str, Any]:
    response = trader.client.place_order(
        symbol=SYMBOL,
        side=side,
        type="LIMIT",
        price=BTC.format_price(price),
        quantity=quantity,
        client_order_id=uuid.uuid4().hex,
    )
    assert response.status_code == 201, response.text
    return dict(decode(response))


def _funded_pair(runtime: Any, side: Side, price: int) -> tuple[Trader, Trader]:
    """The account that places the order, funded with exactly its hold, and a counterparty."""
    hold = required_hold(Grid(BTC), side, price, 100, None)  # 0.0100 BTC
    if side is Side.BUY:
        owner = new_trader(runtime, USD=format_units(hold, BTC.quote_decimals))
        counterparty = new_trader(runtime, BTC="1")
    else:
        owner = new_trader(runtime, BTC=format_units(hold, BTC.base_decimals))
        counterparty = new_trader(runtime, USD="100000")
    return owner, counterparty


def _partly_filled(runtime: Any, side: Side) -> tuple[Trader, Trader, dict[str, Any], int]:
    """An order for 0.0100 at a quiet price, funded with exactly its hold, 0.0060 of it filled by
    the counterparty: (owner, counterparty, order, price)."""
    price = _quiet_price(new_trader(runtime))
    owner, counterparty = _funded_pair(runtime, side, price)
    order = _place(owner, side.value, price, "0.0100")
    wait_status(owner, order["order_id"], "OPEN")
    _place(counterparty, "SELL" if side is Side.BUY else "BUY", price, "0.0060")
    wait_for(lambda: decode(owner.client.get_order(order["order_id"]))["filled_quantity"] == "0.0060")
    return owner, counterparty, order, price


def _settled_everything(runtime: Any, owner: Trader, side: Side) -> None:
    """Both orders settled: the owner holds nothing, got exactly 0.0100 of what it bought or
    sold, and the settlement DLQ is empty."""
    if side is Side.BUY:
        wait_for(lambda: balances(owner).get("BTC", ("", ""))[0] == "0.01000000", timeout_s=60)
        # the rest of the hold goes back once the order is archived as FILLED and its fills settled
        wait_for(lambda: balances(owner)["USD"][1] == "0.000000", timeout_s=60)
    else:
        wait_for(lambda: balances(owner)["BTC"] == ("0.00000000", "0.00000000"), timeout_s=60)
    fills = decode(owner.client.fills())["fills"]
    assert sum(BTC.parse_quantity(f["quantity"]) for f in fills) == 100
    dlq = runtime.function_env("PlaceOrderFunction")["SETTLEMENT_DLQ_URL"]  # a Globals variable
    sqs = boto3.client("sqs", endpoint_url=runtime.endpoint)
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_amend_beyond_the_hold_after_a_partial_fill_is_rejected_by_the_api(runtime: Any, side: Side) -> None:
    # Given an order for 0.0100 funded with exactly its hold, 0.0060 of it filled
    owner, counterparty, order, price = _partly_filled(runtime, side)
    opposite = "SELL" if side is Side.BUY else "BUY"
    # When the owner asks for an open quantity of 0.0100 again
    amend = owner.client.amend_order(order["order_id"], quantity="0.0100")
    # Then it is rejected with INVALID_AMEND and the order keeps its 0.0040 open
    assert amend.status_code == 422, amend.text
    assert decode(amend)["code"] == "INVALID_AMEND"
    # And when the counterparty trades 0.0100 more, only the 0.0040 fills and everything settles
    _place(counterparty, opposite, price, "0.0100")
    assert wait_status(owner, order["order_id"], "FILLED") == "FILLED"
    _settled_everything(runtime, owner, side)
    counterparty.client.cancel_all(SYMBOL)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_the_matcher_rejects_the_same_amend_put_straight_on_the_queue(runtime: Any, side: Side) -> None:
    # Given the same partly filled order
    owner, counterparty, order, price = _partly_filled(runtime, side)
    opposite = "SELL" if side is Side.BUY else "BUY"
    # When an amend to an open 0.0100 bypasses intake and goes straight onto orders.fifo
    env = runtime.function_env("PlaceOrderFunction")
    command_id = f"{order['order_id']}:amend:{uuid.uuid4().hex}"
    amend = {
        "type": "amend",
        "order_id": order["order_id"],
        "account_id": owner.account_id,
        "symbol": SYMBOL,
        "quantity": 100,
    }
    boto3.client("sqs", endpoint_url=runtime.endpoint).send_message(
        QueueUrl=env["ORDERS_QUEUE_URL"],
        MessageBody=orjson.dumps(amend).decode(),
        MessageGroupId=SYMBOL
        if env.get("ORDERS_GROUP_SCHEME") == "symbol"
        else f"{SYMBOL}|{owner.account_id}",
        MessageDeduplicationId=command_id,
    )
    # Then the matcher applies it (it records the command on the order) and rejects it
    dynamodb = boto3.client("dynamodb", endpoint_url=runtime.endpoint)

    def applied() -> dict[str, Any] | None:
        item = dynamodb.get_item(
            TableName=env["ORDERS_TABLE"], Key={"order_id": {"S": order["order_id"]}}, ConsistentRead=True
        ).get("Item", {})
        return item if command_id in item.get("commands", {}).get("SS", []) else None

    item = wait_for(applied, timeout_s=30)
    assert (item["quantity"]["N"], item["remaining_quantity"]["N"]) == ("100", "40")
    # And the next 0.0100 of the counterparty fills only the 0.0040 that is open, all of it settled
    _place(counterparty, opposite, price, "0.0100")
    assert wait_status(owner, order["order_id"], "FILLED") == "FILLED"
    _settled_everything(runtime, owner, side)
    counterparty.client.cancel_all(SYMBOL)
