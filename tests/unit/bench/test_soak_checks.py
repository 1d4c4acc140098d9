"""The soak's invariant checks: a consistent snapshot passes every one, and each check flags the
one fault injected for it (so none of them can pass whatever the stores say)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from trading.domain.instruments import demo_instruments

from bench.soak import checks
from bench.soak.snapshot import Snapshot
from bench.soak.workload import Placed, Recorder

BUYER, SELLER = "soak-1-00", "soak-1-01"


def _trade(seq: int, quantity: int = 10) -> dict[str, Any]:
    return {
        "trade_id": "BTC-USD:1",
        "symbol": "BTC-USD",
        "seq": seq,
        "price": 3_000_000,
        "quantity": quantity,
        "taker_side": "BUY",
        "maker_order_id": "sell-1",
        "taker_order_id": "buy-1",
        "maker_account_id": SELLER,
        "taker_account_id": BUYER,
    }


def _order(
    order_id: str, account: str, side: str, status: str, *, filled: int, remaining: int
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "account_id": account,
        "symbol": "BTC-USD",
        "side": side,
        "order_type": "LIMIT",
        "price": 3_000_000,
        "quantity": filled + remaining,
        "filled_quantity": filled,
        "remaining_quantity": remaining,
        "status": status,
    }


def consistent() -> tuple[Snapshot, Any, Recorder]:
    """A buyer's order partly filled by a seller's (which is done); fees in the fee account."""
    trade = _trade(3)
    s = Snapshot()
    # 10 lots at 30,000.00: 30,000,000 USD atoms, taker fee 60,000, maker fee 30,000; the buyer
    # still holds the worst case of its 5 open lots (15,000,000 + 30,000 taker fee).
    s.transfers = {"USD": 100_000_000, "BTC": 500_000}
    s.soak_transfers = dict(s.transfers)
    s.balances = [
        (BUYER, "USD", 54_910_000, 15_030_000),
        (BUYER, "BTC", 100_000, 0),
        (SELLER, "USD", 29_970_000, 0),
        (SELLER, "BTC", 400_000, 0),
        ("fees", "USD", 90_000, 0),
    ]
    s.holds = [("buy-1", BUYER, "USD", 15_030_000, "ACTIVE"), ("sell-1", SELLER, "BTC", 0, "CLOSED")]
    s.trades = {trade["trade_id"]: trade}
    s.orders = {
        "buy-1": {
            **_order("buy-1", BUYER, "BUY", "PARTIALLY_FILLED", filled=10, remaining=5),
            "client_order_id": "c1",
        },
        "sell-1": _order("sell-1", SELLER, "SELL", "FILLED", filled=10, remaining=0),
    }
    s.levels = {"BTC-USD": {("BUY", 3_000_000): 5}}
    s.checkpoints = {"BTC-USD": 3}
    s.queues = {"OrdersQueue": 0, "SettlementDeadLetterQueue": 0}
    s.events = [
        {"type": "OrderAccepted", "detail": {"symbol": "BTC-USD", "seq": 1, "order_id": "sell-1"}},
        {"type": "OrderAccepted", "detail": {"symbol": "BTC-USD", "seq": 2, "order_id": "buy-1"}},
        {
            "type": "TradeExecuted",
            "detail": {**{k: v for k, v in trade.items() if "account" not in k}, "seq": 3},
        },
    ]
    s.trades[trade["trade_id"]]["seq"] = 3
    s.events[2]["detail"]["trade_id"] = trade["trade_id"]
    world = SimpleNamespace(
        accounts={BUYER, SELLER},
        deposits={"USD": 100_000_000, "BTC": 500_000},
        instruments={i.symbol: i for i in demo_instruments()},
    )
    return s, world, Recorder(budget=10)


def failing(s: Snapshot, world: Any, recorder: Recorder) -> set[str]:
    found = checks.all_checks(s, world, recorder)
    return {c.name for c in found if not c.ok} - {"workload_exercised"}


def test_a_consistent_snapshot_passes_every_check() -> None:
    # Given / When
    s, world, recorder = consistent()
    # Then
    assert failing(s, world, recorder) == set()


def _fee_atom_lost(s: Snapshot) -> None:
    s.balances[-1] = ("fees", "USD", 89_999, 0)


def _held_without_hold(s: Snapshot) -> None:
    s.balances[0] = (BUYER, "USD", 54_900_000, 15_040_000)


def _hold_on_filled_order(s: Snapshot) -> None:
    s.holds[1] = ("sell-1", SELLER, "BTC", 0, "ACTIVE")


def _pending(s: Snapshot) -> None:
    s.orders["new-1"] = _order("new-1", BUYER, "BUY", "PENDING", filled=0, remaining=0)


def _filled_more_than_settled(s: Snapshot) -> None:
    s.orders["sell-1"]["filled_quantity"] = 11


def _committed_not_settled(s: Snapshot) -> None:
    s.trades.clear()


def _settlement_dlq(s: Snapshot) -> None:
    s.queues["SettlementDeadLetterQueue"] = 1


def _level_without_order(s: Snapshot) -> None:
    s.levels["BTC-USD"][("BUY", 2_999_000)] = 7


def _crossed(s: Snapshot) -> None:
    s.levels["BTC-USD"][("SELL", 2_999_900)] = 1
    s.orders["ask"] = _order("ask", SELLER, "SELL", "OPEN", filled=0, remaining=1) | {"price": 2_999_900}


def _seq_gap(s: Snapshot) -> None:
    s.checkpoints["BTC-USD"] = 4


def _two_orders_one_client_id(s: Snapshot) -> None:
    s.orders["buy-2"] = {
        **_order("buy-2", BUYER, "BUY", "CANCELED", filled=0, remaining=0),
        "client_order_id": "c1",
    }


def _self_trade(s: Snapshot) -> None:
    s.trades["BTC-USD:1"]["maker_account_id"] = BUYER


def _engine_rejected_a_valid_order(s: Snapshot) -> None:
    s.orders["x"] = _order("x", BUYER, "BUY", "REJECTED", filled=0, remaining=0) | {
        "reject_code": "INVALID_ORDER_TYPE"
    }


def _amended_beyond_its_hold(s: Snapshot) -> None:
    # the buyer's open quantity raised from 5 to 10 while the hold still covers 5 (issue 12, item 1)
    s.orders["buy-1"]["remaining_quantity"] = 10
    s.levels["BTC-USD"][("BUY", 3_000_000)] = 10


def _negative(s: Snapshot) -> None:
    s.balances.append((SELLER, "ETH", -1, 0))
    s.balances.append((BUYER, "ETH", 1, 0))


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (_fee_atom_lost, "conservation"),
        (_held_without_hold, "held_equals_active_holds"),
        (_hold_on_filled_order, "no_active_hold_on_finished_order"),
        (_pending, "no_pending_order"),
        (_filled_more_than_settled, "filled_equals_settled_fills"),
        (_committed_not_settled, "trades_settled_exactly_once"),
        (_settlement_dlq, "trades_settled_exactly_once"),
        (_level_without_order, "book_equals_open_orders"),
        (_crossed, "book_not_crossed"),
        (_seq_gap, "sequence_gap_free"),
        (_two_orders_one_client_id, "one_order_per_client_order_id"),
        (_self_trade, "no_self_trade"),
        (_engine_rejected_a_valid_order, "intake_engine_rules_agree"),
        (_negative, "no_negative_balance"),
        (_amended_beyond_its_hold, "resting_orders_covered_by_holds"),
    ],
)
def test_each_check_flags_its_fault(fault: Any, check: str) -> None:
    # Given a consistent snapshot with one fault
    s, world, recorder = consistent()
    fault(s)
    # When the checks run / Then that check fails
    assert check in failing(s, world, recorder)


def test_reconciliation_that_says_ok_while_a_ledger_check_fails_disagrees() -> None:
    # Given a held amount without a hold
    s, world, recorder = consistent()
    _held_without_hold(s)
    found = checks.all_checks(s, world, recorder)
    # When reconciliation reports ok / Then it is ok but disagrees with the checks
    ok, agrees = checks.reconciliation({"ok": True, "mismatches": []}, found)
    assert ok.ok and not agrees.ok
    # When it reports the mismatch / Then both say the same
    ok, agrees = checks.reconciliation({"ok": False, "mismatches": [{"check": "held"}]}, found)
    assert not ok.ok and agrees.ok


def test_an_order_answered_to_one_account_but_stored_under_another_is_flagged() -> None:
    # Given the API answered 201 to the seller for an order Orders holds under the buyer
    s, world, recorder = consistent()
    recorder.placed(Placed("buy-1", SELLER, "BTC-USD", "BUY", "limit_gtc", None))
    # When the checks run / Then the order's owner check fails
    assert "orders_belong_to_their_caller" in failing(s, world, recorder)
    # And an answered order missing from Orders is flagged too
    s, world, recorder = consistent()
    recorder.placed(Placed("lost-1", BUYER, "BTC-USD", "BUY", "limit_gtc", None))
    assert "orders_belong_to_their_caller" in failing(s, world, recorder)
