"""Event delivery of the local runtime on the real template: the TradeExecuted rule starts the
settlement state machine and its execution succeeds; schedules can be triggered."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from trading.client import TradingClient, decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _trader(runtime, **deposits):
    account_id = f"rt-{uuid.uuid4().hex[:10]}"
    runtime.admin({"action": "create_account", "account_id": account_id})
    for asset, amount in deposits.items():
        runtime.admin({"action": "deposit", "account_id": account_id, "asset": asset, "amount": amount})
    key = runtime.admin({"action": "create_key", "account_id": account_id, "scopes": ["trade", "read"]})
    return account_id, TradingClient(runtime.rest_url, key["key_id"], key["secret"])


def test_an_eventbridge_rule_starts_the_state_machine_and_its_execution_succeeds(local_runtime):
    if local_runtime.matcher is None:
        pytest.skip("the matcher service is not installed")
    sfn = boto3.client("stepfunctions", endpoint_url=local_runtime.endpoint, region_name="us-east-1")
    machine = local_runtime.physical_ids["SettlementStateMachine"]
    # Given two traders whose orders cross (the matcher publishes TradeExecuted to the bus)
    _, seller = _trader(local_runtime, ETH="10")
    _, buyer = _trader(local_runtime, USD="100000")
    price = "1234.56"
    sell = seller.place_order(symbol="ETH-USD", side="SELL", type="LIMIT", price=price, quantity="0.010")
    assert sell.status_code == 201, sell.text
    buy = buyer.place_order(symbol="ETH-USD", side="BUY", type="LIMIT", price=price, quantity="0.010")
    assert buy.status_code == 201, buy.text
    buy_id = decode(buy)["order_id"]

    # When the trade event reaches the rule
    def settlement():
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if buy_id in described["input"] and described["status"] != "RUNNING":
                return described
        return None

    deadline = time.monotonic() + 60
    described = settlement()
    while described is None and time.monotonic() < deadline:
        time.sleep(0.3)
        described = settlement()
    # Then the settlement state machine ran for it and succeeded without going to its DLQ
    assert described is not None, "no settlement execution for the trade"
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert "error" not in output, output
    assert json.loads(described["input"])["detail-type"] == "TradeExecuted"


def test_a_schedule_of_the_template_can_be_triggered_now(local_runtime):
    # Given the template's hold sweeper schedule (rate 5 minutes)
    # When a test triggers it
    results = local_runtime.trigger_schedule("HoldSweeperFunction")
    # Then the real function ran once and returned
    assert len(results) == 1
