"""The reconcile function as the local runtime deploys it (the template's environment: ``Orders``,
``OrderBooks``, ``Instruments``, the settlement DLQ URL, the reader pool): after trades go through
the API, the matcher and the settlement workflow, it compares the ledger with the matcher's records
and reports ``ok``, on its schedule and with an operator's ``grace_seconds: 0``; a fill the
matcher's ``Orders`` item has and the ledger does not is named."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
from orders_support import Trader, balances, new_trader, wait_for
from staged_faults import unexpected
from trading.client import decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SYMBOL = "ETH-USD"


def place(trader: Trader, **order: Any) -> str:
    response = trader.client.place_order(symbol=SYMBOL, client_order_id=uuid.uuid4().hex, **order)
    assert response.status_code == 201, response.text
    return str(decode(response)["order_id"])


def status(trader: Trader, order_id: str) -> str:
    return str(decode(trader.client.get_order(order_id))["status"])


def test_reconcile_reports_ok_after_trades_settle(local_runtime: Any) -> None:
    runtime = local_runtime
    seller, buyer = new_trader(runtime, ETH="2"), new_trader(runtime, USD="10000")
    try:
        # Given a resting sell taken by two buys (two trades), everything settled and released
        sell = place(seller, side="SELL", type="LIMIT", price="2400.00", quantity="1.000")
        wait_for(lambda: status(seller, sell) == "OPEN")
        quantities = ("0.400", "0.600")
        buys = [place(buyer, side="BUY", type="LIMIT", price="2400.00", quantity=q) for q in quantities]
        wait_for(lambda: [status(buyer, b) for b in buys] == ["FILLED", "FILLED"])
        wait_for(lambda: status(seller, sell) == "FILLED" and len(decode(buyer.client.fills())["fills"]) == 2)
        released = ("0.000000", "0.00000000")
        wait_for(lambda: (balances(buyer)["USD"][1], balances(seller)["ETH"][1]) == released)

        # When the schedule runs reconcile, and an operator runs it without the grace
        (scheduled,) = runtime.trigger_schedule("ReconcileFunction")
        now = reconcile_until_ok(runtime, {"grace_seconds": 0})

        # Then both runs compared the ledger with Orders, the outbox and the DLQ and found nothing
        # (in a runtime where test_settlement_workflow already ran: nothing but what it staged)
        for report in (scheduled, now):
            assert unexpected(report) == [], report["mismatches"][:5]
            assert {"unsettled_trade", "filled_quantity", "terminal_hold", "settlement_dlq"} <= set(
                report["checked"]
            )
            assert report["examined"]["orders"] >= 3  # at least this test's three orders

        # And when the matcher's record of one buy says it filled one unit more than was settled
        # (a committed fill that never reached the ledger), the deployed function names that order
        orders = boto3.client("dynamodb", endpoint_url=runtime.urls.endpoint, region_name=runtime.region)
        table, key = runtime.physical_ids["OrdersTable"], {"order_id": {"S": buys[0]}}
        bump = {"UpdateExpression": "ADD filled_quantity :d", "TableName": table, "Key": key}
        orders.update_item(**bump, ExpressionAttributeValues={":d": {"N": "1"}})
        try:
            faulty = runtime.invoke("ReconcileFunction", {"grace_seconds": 0})
        finally:
            orders.update_item(**bump, ExpressionAttributeValues={":d": {"N": "-1"}})
        assert [m["key"] for m in unexpected(faulty)] == [buys[0]]
        assert [m["check"] for m in unexpected(faulty)] == ["unsettled_trade"]
        assert unexpected(reconcile_until_ok(runtime, {"grace_seconds": 0})) == []
    finally:
        for trader in (seller, buyer):
            trader.client.cancel_all(SYMBOL)


def reconcile_until_ok(runtime: Any, event: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    """The first report with nothing unexpected, or the last one after ``timeout_s`` (without a
    grace, work still in flight from an earlier test, e.g. an archiver batch, is a mismatch until
    it lands)."""
    deadline = time.monotonic() + timeout_s
    while True:
        report: dict[str, Any] = runtime.invoke("ReconcileFunction", event)
        if not unexpected(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.5)
