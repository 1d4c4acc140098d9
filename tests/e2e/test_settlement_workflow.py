"""Settlement through the local runtime: a ``TradeExecuted`` event on the trading bus starts the
settlement state machine (moto Step Functions, real ASL) whose task runs the real settle Lambda
against the runtime's PostgreSQL; a replayed event settles nothing twice; an unsettleable event is
parked in the settlement DLQ with nothing applied."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import psycopg2
import pytest
from staged_faults import unexpected

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def settlement_runtime(local_runtime: Any) -> Any:
    # The session's one runtime: two runtimes in one process would share trading's
    # process-wide boto3 and database caches.
    return local_runtime


def client(runtime: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=runtime.urls.endpoint, region_name=runtime.region)


def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


def scalar(runtime: Any, sql: str, params: tuple[Any, ...]) -> Any:
    conn = psycopg2.connect(runtime.db.dsn())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row else None
    finally:
        conn.close()


def funded_pair(runtime: Any) -> tuple[str, str, str, str]:
    """A buyer with 20,000 USD and a seller with 1 BTC, each with an order's hold in place."""
    tag = uuid.uuid4().hex[:8]
    buyer, seller = f"e2e-buyer-{tag}", f"e2e-seller-{tag}"
    for account, asset, amount in ((buyer, "USD", "20000"), (seller, "BTC", "1")):
        runtime.admin({"action": "create_account", "account_id": account})
        runtime.admin({"action": "deposit", "account_id": account, "asset": asset, "amount": amount})
    buy, sell = f"buy-{tag}", f"sell-{tag}"
    conn = psycopg2.connect(runtime.db.dsn())
    try:
        with conn, conn.cursor() as cur:
            for order, account, asset, amount in (
                (buy, buyer, "USD", 15_030_000_000),
                (sell, seller, "BTC", 50_000_000),
            ):
                cur.execute(
                    "UPDATE balances SET available = available - %s, held = held + %s"
                    " WHERE account_id = %s AND asset = %s",
                    (amount, amount, account, asset),
                )
                cur.execute(
                    "INSERT INTO holds (order_id, account_id, asset, symbol, amount, remaining)"
                    " VALUES (%s, %s, %s, 'BTC-USD', %s, %s)",
                    (order, account, asset, amount, amount),
                )
    finally:
        conn.close()
    return buyer, seller, buy, sell


def trade_event(runtime: Any, seq: int, pair: tuple[str, str, str, str]) -> dict[str, Any]:
    buyer, seller, buy, sell = pair
    detail = {
        "symbol": "BTC-USD", "seq": seq, "trade_id": f"BTC-USD:{seq}", "price": 3_000_000, "quantity": 5_000,
        "taker_side": "BUY", "maker_order_id": sell, "taker_order_id": buy, "maker_account_id": seller,
        "taker_account_id": buyer, "executed_at": "2026-11-25T12:00:00.000000Z",
    }  # fmt: skip
    return {
        "Source": "trading.matcher",
        "DetailType": "TradeExecuted",
        "Detail": json.dumps(detail),
        "EventBusName": f"{runtime.stack_name}-trading",
    }


def executions_with(runtime: Any, marker: str) -> list[dict[str, Any]]:
    sfn = client(runtime, "stepfunctions")
    arn = runtime.physical_ids["SettlementStateMachine"]
    found = []
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if marker in described["input"] and described["status"] != "RUNNING":
            found.append(described)
    return found


def test_trade_executed_starts_the_workflow_and_settles_exactly_once(settlement_runtime: Any) -> None:
    runtime = settlement_runtime
    seq = uuid.uuid4().int % 10**12
    pair = funded_pair(runtime)
    buyer, _, buy, _ = pair
    events = client(runtime, "events")
    # When the matcher's TradeExecuted is published
    assert events.put_events(Entries=[trade_event(runtime, seq, pair)])["FailedEntryCount"] == 0
    # Then the state machine ran Settle and succeeded, and the trade is in the ledger
    [execution] = eventually(lambda: executions_with(runtime, buy))
    assert execution["status"] == "SUCCEEDED", execution
    assert scalar(runtime, "SELECT count(*) FROM trades WHERE taker_order_id = %s", (buy,)) == 1
    assert scalar(
        runtime, "SELECT available FROM balances WHERE account_id = %s AND asset = 'BTC'", (buyer,)
    ) == (50_000_000)
    # When the same event is delivered again
    events.put_events(Entries=[trade_event(runtime, seq, pair)])
    eventually(lambda: len(executions_with(runtime, buy)) == 2)
    # Then the second execution succeeded without settling anything
    second = next(e for e in executions_with(runtime, buy) if e["executionArn"] != execution["executionArn"])
    assert second["status"] == "SUCCEEDED"
    assert json.loads(second["output"])["result"]["settlement"]["duplicates"] == [f"BTC-USD:{seq}"]
    assert (
        scalar(
            runtime, "SELECT count(*) FROM ledger_entries WHERE journal_id = %s", (f"trade:BTC-USD:{seq}",)
        )
        == 5
    )


def test_an_unsettleable_trade_is_parked_in_the_dlq(settlement_runtime: Any) -> None:
    runtime = settlement_runtime
    seq = uuid.uuid4().int % 10**12
    _, seller, buy, sell = funded_pair(runtime)
    # When a trade arrives for an account that does not exist
    events = client(runtime, "events")
    events.put_events(Entries=[trade_event(runtime, seq, ("no-such-account", seller, buy, sell))])
    # Then the execution ends in the DeadLettered state, the event is in the DLQ, nothing was applied
    sqs = client(runtime, "sqs")
    url = runtime.physical_ids["SettlementDeadLetterQueue"]

    def parked() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        return [json.loads(m["Body"]) for m in messages if buy in m["Body"]]

    [body] = eventually(parked)
    assert body["error"]["Error"] == "PermanentSettlementError"
    assert body["detail"]["taker_account_id"] == "no-such-account"
    assert scalar(runtime, "SELECT count(*) FROM trades WHERE taker_order_id = %s", (buy,)) == 0


def test_scheduled_ledger_functions_run_with_the_template_wiring(settlement_runtime: Any) -> None:
    runtime = settlement_runtime
    # Given a hold whose order never reached Orders, older than the sweeper's grace period
    _, _, buy, _ = funded_pair(runtime)
    conn = psycopg2.connect(runtime.db.dsn())
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE holds SET created_at = now() - interval '1 hour' WHERE order_id = %s", (buy,))
    finally:
        conn.close()
    # When the hold sweeper's schedule fires
    [swept] = runtime.trigger_schedule("HoldSweeperFunction")
    # Then it looked the order up in the Orders table, found none, and released the hold
    assert buy in swept["orphaned"]
    assert scalar(runtime, "SELECT status FROM holds WHERE order_id = %s", (buy,)) == "CLOSED"
    # When reconciliation runs on its schedule / Then the books of the whole runtime reconcile,
    # except for what this module staged around the matcher, which the checks against the
    # matcher's records name: fills settled for funded_pair's orders that never reached Orders,
    # and the one settlement this module parked in the DLQ
    [report] = runtime.trigger_schedule("ReconcileFunction")
    assert unexpected(report) == [], unexpected(report)[:5]
    # Given a trade settled by invoking the settle function directly
    pair = funded_pair(runtime)
    entry = trade_event(runtime, uuid.uuid4().int % 10**12, pair)
    settled = runtime.invoke(
        "SettleFunction", {"detail-type": "TradeExecuted", "detail": json.loads(entry["Detail"])}
    )
    assert len(settled["settled"]) == 1
    # When the trade export runs for that day / Then every trade of the day is in the bucket
    export = runtime.invoke("TradeExportFunction", {"date": "2026-11-25"})
    day_count = scalar(
        runtime,
        "SELECT count(*) FROM trades WHERE (executed_at AT TIME ZONE 'UTC')::date = %s AND symbol = %s",
        ("2026-11-25", "BTC-USD"),
    )
    assert export["counts"]["BTC-USD"] == day_count >= 1
    bucket = runtime.physical_ids["TradeLogBucket"]
    # (other tests share the runtime and may have traded other symbols that day)
    [key] = [k for k in export["keys"] if "/symbol=BTC-USD/" in k]
    assert client(runtime, "s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
