"""The reconcile, order_archiver, hold_sweeper and trade_export Lambdas in-process, with their
sample events, a real database and moto."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from settlement_support import Context, Funded, emf_metrics, event, load_function
from trading.domain.instruments import demo_instruments
from trading.ledger import settle_trades
from trading.ledger.crosscheck import IndependentRecords

INSTRUMENTS = {i.symbol: i for i in demo_instruments()}


class _NoOrders:
    def get_many(self, order_ids: Any) -> dict[str, Any]:
        return {}


class _EmptyQueue:
    def count(self) -> int:
        return 0


def no_matcher_records() -> IndependentRecords:
    """Before any order reached the matcher: no Orders items, an empty settlement DLQ (the funded
    holds are younger than the grace, so they are not yet a mismatch)."""
    return IndependentRecords(orders=_NoOrders(), settlement_dlq=_EmptyQueue())


@pytest.fixture
def bus(moto_endpoint: str) -> tuple[Any, str, Any, str]:
    """A trading bus whose ReconciliationMismatch events land in an SQS queue we can read."""
    events = boto3.client("events", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"trading-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    url = sqs.create_queue(QueueName=f"{name}-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="mismatch", EventBusName=name, EventPattern=json.dumps({"source": ["trading.ledger"]})
    )
    events.put_targets(Rule="mismatch", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return events, name, sqs, url


def test_reconcile_reports_clean_books_with_a_zero_metric(
    funded: Funded,
    bus: tuple[Any, str, Any, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events, name, sqs, url = bus
    monkeypatch.setenv("EVENT_BUS_NAME", name)
    app = load_function("reconcile")
    result = app.handler(
        event("reconcile/scheduled.json"),
        Context(),
        connect=funded.borrow,
        events_client=lambda: events,
        records=no_matcher_records,
    )
    assert result["ok"] is True
    assert emf_metrics(capsys.readouterr().out)["ReconciliationMismatches"] == 0
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_reconcile_emits_the_metric_and_an_event_on_a_mismatch(
    funded: Funded,
    bus: tuple[Any, str, Any, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a balance changed outside the ledger
    with funded.conn, funded.conn.cursor() as cur:
        cur.execute(
            "UPDATE balances SET available = available + 7 WHERE account_id = 'acct-buyer' AND asset = 'BTC'"
        )
    events, name, sqs, url = bus
    monkeypatch.setenv("EVENT_BUS_NAME", name)
    from trading.ledger import wiring

    wiring.settings.cache_clear()
    # When reconcile runs on its schedule
    app = load_function("reconcile")
    result = app.handler(
        event("reconcile/scheduled.json"),
        Context(),
        connect=funded.borrow,
        events_client=lambda: events,
        records=no_matcher_records,
    )
    wiring.settings.cache_clear()
    # Then it reports, counts and publishes the mismatch (the BTC total disagrees with the internal
    # ledger, the external ledger and the deposits; the account's balance with its ledger)
    assert result["ok"] is False
    assert emf_metrics(capsys.readouterr().out)["ReconciliationMismatches"] == 4
    body = json.loads(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert body["detail-type"] == "ReconciliationMismatch" and body["source"] == "trading.ledger"
    assert body["detail"]["checks"] == ["account_balance", "asset_total"]


def test_the_archiver_archives_terminal_images_and_releases_the_excess_hold(
    funded: Funded, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the buy order's fill settled
    with funded.conn:
        settle_trades(funded.conn, [event("settle/trade_executed.json")["detail"]], INSTRUMENTS)
    # When the Orders stream delivers its FILLED image (and an unrelated PENDING insert)
    app = load_function("order_archiver")
    response = app.handler(event("order_archiver/terminal_order.json"), Context(), connect=funded.borrow)
    # Then only the terminal order is archived and its unspent hold is back in available
    assert response == {"batchItemFailures": []}
    assert funded.scalar("SELECT array_agg(order_id) FROM order_history") == ["ord-buy-1"]
    assert funded.scalar("SELECT status FROM holds WHERE order_id = 'ord-buy-1'") == "CLOSED"
    assert emf_metrics(capsys.readouterr().out)["OrdersArchived"] == 1


def test_the_archiver_reports_only_the_failed_record(funded: Funded) -> None:
    # Given a stream batch whose terminal image misses required fields
    stream = event("order_archiver/terminal_order.json")
    del stream["Records"][0]["dynamodb"]["NewImage"]["account_id"]
    # When it is processed / Then that record is reported for retry
    app = load_function("order_archiver")
    response = app.handler(stream, Context(), connect=funded.borrow)
    assert response == {"batchItemFailures": [{"itemIdentifier": "100000000000000000001"}]}


class FakeOrders:
    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def get_orders(self, order_ids: Any) -> dict[str, dict[str, Any]]:
        return {oid: self.items[oid] for oid in order_ids if oid in self.items}


def test_the_hold_sweeper_releases_ended_and_orphaned_holds(
    funded: Funded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given holds older than the grace period: one order canceled unfilled, the others unknown
    monkeypatch.setenv("HOLD_GRACE_SECONDS", "0")
    from trading.ledger import wiring

    wiring.settings.cache_clear()
    canceled = {
        "order_id": "ord-buy-2", "account_id": "acct-buyer", "symbol": "BTC-USD", "side": "BUY",
        "order_type": "LIMIT", "status": "CANCELED", "price": 3_000_000, "quantity": 2_000,
        "filled_quantity": 0,
    }  # fmt: skip
    # When the sweeper runs
    app = load_function("hold_sweeper")
    result = app.handler(
        event("hold_sweeper/scheduled.json"), Context(), connect=funded.borrow,
        orders=lambda: FakeOrders({"ord-buy-2": canceled}),
    )  # fmt: skip
    wiring.settings.cache_clear()
    # Then every hold was released (five orphans with no order item, one canceled order)
    assert sorted(result["released"]) == sorted(
        ["ord-buy-1", "ord-sell-1", "ord-buy-2", "ord-sell-2", "ord-buy-3", "ord-sell-3"]
    )
    assert result["archived"] == ["ord-buy-2"]
    assert funded.balance("acct-buyer", "USD")[1] == 0
    assert emf_metrics(capsys.readouterr().out)["OrphanHoldsReleased"] == 5


def test_trade_export_writes_the_given_day(funded: Funded, moto_endpoint: str) -> None:
    # Given settled trades on 2026-11-25 and a trade-log bucket
    with funded.conn:
        settle_trades(
            funded.conn, event("settle/batch.json") and [e["detail"] for e in event("settle/batch.json")]
        )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"trade-log-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    # When the export runs for that date
    app = load_function("trade_export")
    result = app.handler(
        event("trade_export/given_date.json"),
        Context(),
        connect=funded.borrow,
        s3=lambda: s3,
        bucket=lambda: bucket,
    )
    # Then the day's partition exists
    assert result["counts"] == {"BTC-USD": 2}
    assert result["keys"] == ["trades/date=2026-11-25/symbol=BTC-USD/part-0000.jsonl.gz"]


def test_trade_export_on_schedule_exports_the_previous_day() -> None:
    app = load_function("trade_export")
    assert app.day_to_export(event("trade_export/scheduled.json")).isoformat() == "2026-11-25"
    today = datetime.now(UTC).date()
    assert app.day_to_export({}) == today - timedelta(days=1)
