"""Reconciliation against independent records: each mismatch kind, injected alone into a clean
exchange (embedded PostgreSQL + moto tables and queue built from ``template.yaml``), is flagged
with its ids by exactly its own check; the clean exchange is ``ok``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from ledger_world import World, trade
from records_world import PRICE, REST_PRICE, CleanExchange, MatcherRecords
from trading.adapters import aws
from trading.domain.enums import Side
from trading.ledger.crosscheck import CROSS_CHECKS, CrossCheckPolicy
from trading.ledger.reconcile import LEDGER_CHECKS, ReconciliationReport, reconcile_snapshot

POLICY = CrossCheckPolicy(grace=timedelta(minutes=15), pending_timeout=timedelta(minutes=10))


@pytest.fixture
def records(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MatcherRecords]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    aws.reset()
    yield MatcherRecords(moto_endpoint)
    aws.reset()


@pytest.fixture
def exchange(world: World, records: MatcherRecords) -> CleanExchange:
    return CleanExchange(world, records)


def run(exchange: CleanExchange, policy: CrossCheckPolicy = POLICY) -> ReconciliationReport:
    return reconcile_snapshot(exchange.world.conn, exchange.records.records(), policy)


def flagged(report: ReconciliationReport) -> set[tuple[str, str]]:
    return {(m.check, m.key) for m in report.mismatches}


def test_a_clean_exchange_reconciles_ok_with_every_check_run(exchange: CleanExchange) -> None:
    # When the clean exchange is reconciled against the matcher's records
    report = run(exchange)
    # Then nothing is flagged, every check ran, and the three orders were examined
    assert report.ok, report.mismatches
    assert report.checked == [*LEDGER_CHECKS, *CROSS_CHECKS]
    assert report.examined == {"orders": 3, "outbox_items": 0}
    assert report.counts() == dict.fromkeys(report.checked, 0)


def test_a_committed_trade_that_never_settled_is_flagged_on_both_orders(exchange: CleanExchange) -> None:
    # Given the matcher filled the resting buy against a new sell an hour ago (hold placed by
    # intake, both items FILLED) and the trade was published but never settled
    world, records = exchange.world, exchange.records
    world.order_hold("sell-2", "seller", Side.SELL, REST_PRICE, 2_000)
    for order_id, account, side in (("rest-1", "maker", Side.BUY), ("sell-2", "seller", Side.SELL)):
        records.put_order(
            order_id,
            account,
            side,
            REST_PRICE,
            2_000,
            status="FILLED",
            filled=2_000,
            created=exchange.an_hour_ago,
        )
    # When reconciled
    report = run(exchange)
    # Then both orders are named as unsettled, and nothing else (their holds wait for the fill)
    assert flagged(report) == {("unsettled_trade", "rest-1"), ("unsettled_trade", "sell-2")}
    assert {(m.expected, m.actual) for m in report.mismatches} == {(2_000, 0)}
    assert all("hold stays ACTIVE" in m.detail for m in report.mismatches)


def test_an_unpublished_outbox_trade_is_flagged_by_trade_id(exchange: CleanExchange) -> None:
    # Given the matcher committed trade 2 (outbox and Orders items) an hour ago and died before
    # publishing it
    world, records = exchange.world, exchange.records
    world.order_hold("sell-2", "seller", Side.SELL, REST_PRICE, 1_000)
    records.put_order(
        "rest-1", "maker", Side.BUY, REST_PRICE, 2_000, status="PARTIALLY_FILLED", filled=1_000,
        created=exchange.an_hour_ago,
    )  # fmt: skip
    records.put_order(
        "sell-2",
        "seller",
        Side.SELL,
        REST_PRICE,
        1_000,
        status="FILLED",
        filled=1_000,
        created=exchange.an_hour_ago,
    )
    detail = trade(2, REST_PRICE, 1_000, Side.SELL, ("maker", "rest-1"), ("seller", "sell-2"))
    records.put_outbox(
        2, [("TradeExecuted", detail), ("OrderFilled", {"order_id": "sell-2"})], exchange.an_hour_ago
    )
    # When reconciled
    report = run(exchange)
    # Then the trade itself and both of its orders are named, under the one check
    assert flagged(report) == {
        ("unsettled_trade", "BTC-USD:2"),
        ("unsettled_trade", "rest-1"),
        ("unsettled_trade", "sell-2"),
    }
    by_key = {m.key: m for m in report.mismatches}
    assert "BTC-USD:2" in by_key["rest-1"].detail and by_key["BTC-USD:2"].expected == 1_000
    assert report.examined["outbox_items"] == 1


def test_work_in_flight_within_the_grace_is_not_flagged(exchange: CleanExchange) -> None:
    # Given the same unpublished trade, committed a minute ago
    world, records = exchange.world, exchange.records
    a_minute_ago = exchange.now - timedelta(minutes=1)
    world.order_hold("sell-2", "seller", Side.SELL, REST_PRICE, 2_000)
    for order_id, account, side in (("rest-1", "maker", Side.BUY), ("sell-2", "seller", Side.SELL)):
        records.put_order(
            order_id, account, side, REST_PRICE, 2_000, status="FILLED", filled=2_000,
            created=exchange.an_hour_ago, updated=a_minute_ago,
        )  # fmt: skip
    detail = trade(2, REST_PRICE, 2_000, Side.SELL, ("maker", "rest-1"), ("seller", "sell-2"))
    records.put_outbox(2, [("TradeExecuted", detail)], a_minute_ago)
    # When reconciled with a 15 minute grace, and with none
    in_grace, now = run(exchange), run(exchange, CrossCheckPolicy(grace=timedelta(0)))
    # Then it is settlement in flight at first; without a grace the same state is flagged
    assert in_grace.ok, in_grace.mismatches
    assert ("unsettled_trade", "BTC-USD:2") in flagged(now) and ("unsettled_trade", "rest-1") in flagged(now)


def test_settled_more_than_the_matcher_filled_is_flagged(exchange: CleanExchange) -> None:
    # Given the matcher's item says buy-1 filled 3,000 of the 5,000 the ledger settled
    exchange.records.put_order(
        "buy-1", "buyer", Side.BUY, PRICE, 5_000, status="FILLED", filled=3_000, created=exchange.an_hour_ago
    )
    # When reconciled
    report = run(exchange)
    # Then only the filled quantity check names the order, with both numbers
    assert flagged(report) == {("filled_quantity", "buy-1")}
    (mismatch,) = report.mismatches
    assert (mismatch.expected, mismatch.actual) == (3_000, 5_000)


def test_settled_fills_of_an_order_the_matcher_does_not_have_are_flagged(exchange: CleanExchange) -> None:
    # Given sell-1's Orders item is gone (its fill is settled in the ledger)
    exchange.records.ddb.delete_item(
        TableName=exchange.records.orders_table, Key={"order_id": {"S": "sell-1"}}
    )
    # When reconciled
    report = run(exchange)
    # Then the filled quantity check names it
    assert flagged(report) == {("filled_quantity", "sell-1")}


def test_an_active_hold_of_a_terminal_settled_order_is_flagged(exchange: CleanExchange) -> None:
    # Given the matcher canceled the resting order an hour ago and its hold was never released
    # (the archiver and the sweeper both missed it)
    exchange.records.put_order(
        "rest-1", "maker", Side.BUY, REST_PRICE, 2_000, status="CANCELED", created=exchange.an_hour_ago
    )
    # When reconciled
    report = run(exchange)
    # Then the terminal hold check names the order and the amount still held
    assert flagged(report) == {("terminal_hold", "rest-1")}
    (mismatch,) = report.mismatches
    assert mismatch.actual == exchange.world.hold_state("rest-1")[0] > 0


def test_an_active_hold_of_an_order_missing_from_orders_is_flagged_after_the_grace(
    exchange: CleanExchange,
) -> None:
    # Given an hour-old hold whose order never reached Orders (intake failed after holding)
    world = exchange.world
    world.order_hold("lost-1", "maker", Side.BUY, REST_PRICE, 1_000)
    world.execute("UPDATE holds SET created_at = now() - interval '1 hour' WHERE order_id = 'lost-1'")
    # When reconciled
    report = run(exchange)
    # Then it is flagged as a hold nobody will release
    assert flagged(report) == {("terminal_hold", "lost-1")}


def test_a_parked_settlement_in_the_dlq_is_flagged(exchange: CleanExchange) -> None:
    # Given one settlement parked in the DLQ
    records = exchange.records
    records.park_settlement(exchange.first_trade)
    # When reconciled
    report = run(exchange)
    # Then the DLQ check names the queue and counts the message
    dlq_name = records.dlq_url.rsplit("/", 1)[-1]
    assert flagged(report) == {("settlement_dlq", dlq_name)}
    assert report.mismatches[0].actual == 1


def test_an_order_pending_past_the_intake_timeout_is_flagged(exchange: CleanExchange) -> None:
    # Given an order intake wrote PENDING (funds held) an hour ago that the matcher never saw,
    # and one written a minute ago
    world, records = exchange.world, exchange.records
    for order_id, age in (("pend-old", timedelta(hours=1)), ("pend-new", timedelta(minutes=1))):
        world.order_hold(order_id, "maker", Side.BUY, REST_PRICE, 100)
        records.put_order(
            order_id, "maker", Side.BUY, REST_PRICE, 100, status="PENDING", created=exchange.now - age
        )
    # When reconciled (intake timeout 10 minutes, grace 15)
    report = run(exchange)
    # Then only the old one is flagged, with its age against the limit
    assert flagged(report) == {("pending_order", "pend-old")}
    (mismatch,) = report.mismatches
    assert mismatch.expected == 25 * 60 and mismatch.actual >= 3_600


def test_held_that_the_active_holds_do_not_explain_is_flagged(exchange: CleanExchange) -> None:
    # Given held moved without a hold row
    exchange.world.execute(
        "UPDATE balances SET available = available - 5, held = held + 5"
        " WHERE account_id = 'maker' AND asset = 'USD'"
    )
    # When reconciled
    report = run(exchange)
    # Then only the held check names the account and asset
    assert flagged(report) == {("held", "maker/USD")}


def test_a_supply_that_differs_from_deposits_minus_withdrawals_is_flagged(exchange: CleanExchange) -> None:
    # Given the seller's BTC deposit recorded as an ETH transfer (its journal is still BTC)
    exchange.world.execute("UPDATE transfers SET asset = 'ETH' WHERE account_id = 'seller' AND asset = 'BTC'")
    # When reconciled
    report = run(exchange)
    # Then only the asset totals are off: BTC has more, ETH less, than deposits minus withdrawals
    assert flagged(report) == {("asset_total", "BTC"), ("asset_total", "ETH")}
    assert {(m.key, m.expected, m.actual) for m in report.mismatches} == {
        ("BTC", 100_000_000, 0),
        ("ETH", 0, 100_000_000),
    }


def test_more_candidate_orders_than_one_run_examines_is_not_ok(exchange: CleanExchange) -> None:
    # When the clean exchange's three orders are reconciled with room for two
    report = run(exchange, CrossCheckPolicy(max_orders=2))
    # Then the run says it could not prove the rest
    assert flagged(report) == {("coverage", "orders")}
    assert report.examined["orders"] == 2


def test_more_outbox_items_than_one_run_reads_is_not_ok(exchange: CleanExchange) -> None:
    # Given two old outbox items of BTC-USD whose trades are settled (published, delete failed)
    for seq in (1, 2):
        exchange.records.put_outbox(seq, [("OrderAccepted", {"order_id": f"o{seq}"})], exchange.an_hour_ago)
    # When reconciled with room for one item per symbol
    report = run(exchange, CrossCheckPolicy(max_outbox_items=1))
    # Then the run says it could not read the symbol's whole outbox; the item it read is harmless
    assert flagged(report) == {("coverage", "outbox:BTC-USD")}
    assert report.examined["outbox_items"] == 1


def test_the_command_line_exits_nonzero_and_prints_the_cross_check_mismatch(
    exchange: CleanExchange, moto_endpoint: str
) -> None:
    # Given a clean exchange, then one settlement parked in the DLQ
    records = exchange.records
    args = [
        sys.executable, "-m", "trading.ledger.reconcile", exchange.world.dsn,
        "--orders-table", records.orders_table, "--order-books-table", records.books_table,
        "--settlement-dlq-url", records.dlq_url, "--symbols", "BTC-USD,ETH-USD",
    ]  # fmt: skip
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    clean = _run_cli(args, env)
    records.park_settlement(exchange.first_trade)
    dirty = _run_cli(args, env)
    missing_dlq = _run_cli(args[:-4], env)
    # Then the exit status and the JSON report say so
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["checked"] == [*LEDGER_CHECKS, *CROSS_CHECKS]
    assert dirty.returncode == 1
    assert [m["check"] for m in json.loads(dirty.stdout)["mismatches"]] == ["settlement_dlq"]
    assert missing_dlq.returncode == 2


def _run_cli(args: list[str], env: dict[str, str]) -> Any:
    return subprocess.run(args, capture_output=True, text=True, check=False, env={**os.environ, **env})
