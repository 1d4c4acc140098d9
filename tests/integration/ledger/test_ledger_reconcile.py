"""Reconciliation finds every kind of inconsistency and passes a consistent ledger."""

import subprocess
import sys

from ledger_world import World, trade
from trading.domain.enums import Side
from trading.ledger import reconcile, settle_trades
from trading.ledger.reconcile import reconcile_dsn


def settled_world(world: World) -> None:
    world.account("seller", BTC=100_000_000)
    world.account("buyer", USD=20_000_000_000)
    world.order_hold("sell-1", "seller", Side.SELL, 3_000_000, 5_000)
    world.order_hold("buy-1", "buyer", Side.BUY, 3_000_000, 5_000)
    with world.conn:
        settle_trades(
            world.conn, [trade(1, 3_000_000, 5_000, Side.BUY, ("seller", "sell-1"), ("buyer", "buy-1"))]
        )


def checks(world: World) -> set[tuple[str, str]]:
    with world.conn:
        return {(m.check, m.key) for m in reconcile(world.conn).mismatches}


def test_a_consistent_ledger_has_no_mismatch_and_reports_totals(world: World) -> None:
    # Given deposits, holds and a settled trade
    settled_world(world)
    # When reconciled
    report = reconcile_dsn(world.dsn)
    # Then it is clean and the totals are the deposits
    assert report.ok, report.mismatches
    assert report.assets == {"BTC": 100_000_000, "ETH": 0, "USD": 20_000_000_000}


def test_a_balance_changed_outside_the_ledger_is_found(world: World) -> None:
    # Given someone credited a balance directly
    settled_world(world)
    world.execute(
        "UPDATE balances SET available = available + 1 WHERE account_id = 'buyer' AND asset = 'BTC'"
    )
    # Then both the asset total and the account balance disagree with the ledger
    assert {("asset_total", "BTC"), ("account_balance", "buyer/BTC")} <= checks(world)


def test_held_that_no_hold_explains_is_found(world: World) -> None:
    # Given held moved without a hold row (available -> held)
    settled_world(world)
    world.execute(
        "UPDATE balances SET available = available - 5, held = held + 5"
        " WHERE account_id = 'buyer' AND asset = 'USD'"
    )
    # Then only the held check fails (the totals are unchanged)
    assert checks(world) == {("held", "buyer/USD")}


def test_a_trade_without_its_legs_is_found(world: World) -> None:
    # Given a trade whose ledger legs are gone (and the balances adjusted so only the legs are off)
    settled_world(world)
    world.execute("DELETE FROM ledger_entries WHERE journal_id = 'trade:BTC-USD:1' AND memo = 'base'")
    # Then the trade legs check names the trade
    assert ("trade_legs", "BTC-USD:1") in checks(world)


def test_an_unbalanced_journal_is_found(world: World) -> None:
    # Given a fee leg altered after commit (the trigger only checks at insert time)
    settled_world(world)
    world.execute("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_balance")
    world.execute("UPDATE ledger_entries SET amount = amount + 1 WHERE memo = 'fee'")
    # Then the journal and the totals are reported
    found = checks(world)
    assert ("journal_unbalanced", "trade:BTC-USD:1/USD") in found
    assert ("asset_total", "USD") in found


def test_a_transfer_without_its_journal_is_found(world: World) -> None:
    # Given a transfer row that never got its journal (and a matching balance change)
    world.account("alice", USD=10)
    world.execute(
        "INSERT INTO transfers (transfer_id, account_id, asset, direction, amount)"
        " VALUES ('ghost', 'alice', 'USD', 'DEPOSIT', 3)"
    )
    # Then the transfer and the totals are reported
    found = checks(world)
    assert ("transfer_legs", "ghost") in found
    assert ("asset_total", "USD") in found


def test_the_admin_command_exits_nonzero_on_a_mismatch(world: World) -> None:
    # Given a clean ledger, then a tampered one
    settled_world(world)
    clean = subprocess.run(
        [sys.executable, "-m", "trading.ledger.reconcile", world.dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    world.execute("UPDATE balances SET held = held + 1 WHERE account_id = 'seller' AND asset = 'BTC'")
    dirty = subprocess.run(
        [sys.executable, "-m", "trading.ledger.reconcile", world.dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then the command says so in its exit status and JSON output
    assert clean.returncode == 0 and '"ok": true' in clean.stdout
    assert dirty.returncode == 1 and '"check": "held"' in dirty.stdout


def test_a_snapshot_on_an_autocommit_reader_leaves_the_session_as_it_was(world: World) -> None:
    # Given a reader-style connection in autocommit mode
    import psycopg2
    from trading.ledger.reconcile import reconcile_snapshot

    settled_world(world)
    reader = psycopg2.connect(world.dsn)
    reader.set_session(readonly=True, autocommit=True)
    try:
        # When it reconciles
        report = reconcile_snapshot(reader)
        # Then the report is clean and the connection is still autocommit, outside a transaction
        assert report.ok
        assert reader.autocommit and reader.get_transaction_status() == 0
    finally:
        reader.close()
