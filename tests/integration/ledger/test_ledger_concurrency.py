"""Concurrency: settlement racing the archiver never strands a hold, and parallel settle workers
on overlapping accounts never deadlock (consistent lock order) and settle every trade once."""

import random
import threading
from collections.abc import Callable
from typing import Any

import psycopg2
from ledger_world import World, terminal_order, trade
from trading.domain.enums import Side
from trading.ledger import archive_order, reconcile, settle_trades


def run_together(*jobs: Callable[[Any], None], dsn: str) -> list[BaseException]:
    """Run each job on its own connection, released at the same moment; return their errors."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def worker(job: Callable[[Any], None]) -> None:
        conn = psycopg2.connect(dsn)
        try:
            barrier.wait()
            with conn:
                job(conn)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_settlement_racing_the_archiver_always_releases_the_excess_hold(world: World) -> None:
    # Given 15 crossing pairs whose buy orders hold more than their fill costs
    world.account("seller", BTC=10_000_000_000)
    world.account("buyer", USD=10_000_000_000_000)
    for n in range(15):
        buy, sell = f"buy-{n}", f"sell-{n}"
        world.order_hold(sell, "seller", Side.SELL, 3_000_000, 5_000)
        world.order_hold(buy, "buyer", Side.BUY, 3_100_000, 5_000)
        fill = trade(n + 1, 3_000_000, 5_000, Side.BUY, ("seller", sell), ("buyer", buy))
        filled = terminal_order(buy, "buyer", Side.BUY, filled=5_000)
        # When the fill settles at the same moment as the order's terminal image is archived
        errors = run_together(
            lambda conn, f=fill: settle_trades(conn, [f]),
            lambda conn, o=filled: archive_order(conn, o),
            dsn=world.dsn,
        )
        # Then neither failed and, whichever came second, the buy's hold is closed
        assert errors == []
        assert world.hold_state(buy) == (0, "CLOSED"), n
    assert world.balance("buyer", "USD")[1] == 0
    with world.conn:
        assert reconcile(world.conn).ok


def test_parallel_settle_workers_on_overlapping_accounts_do_not_deadlock(world: World) -> None:
    # Given 120 trades among 4 accounts, split into shuffled batches for 4 workers
    rng = random.Random(5)
    accounts = [f"acct{n}" for n in range(4)]
    for account in accounts:
        world.account(account, USD=10**14, BTC=10**12)
    trades = []
    for seq in range(1, 121):
        maker, taker = rng.sample(accounts, 2)
        side = rng.choice([Side.BUY, Side.SELL])
        maker_side = side.opposite
        world.order_hold(f"m{seq}", maker, maker_side, 3_000_000, 10)
        world.order_hold(f"t{seq}", taker, side, 3_000_000, 10)
        trades.append(trade(seq, 3_000_000, 10, side, (maker, f"m{seq}"), (taker, f"t{seq}")))
    rng.shuffle(trades)
    shares = [trades[i::4] for i in range(4)]

    def worker(share: list[dict[str, Any]]) -> Callable[[Any], None]:
        def job(conn: Any) -> None:
            for i in range(0, len(share), 3):
                settle_trades(conn, share[i : i + 3])
                conn.commit()

        return job

    # When the four workers settle concurrently
    errors = run_together(*(worker(s) for s in shares), dsn=world.dsn)
    # Then no worker hit a deadlock or any other error, and every trade settled once
    assert errors == []
    assert world.scalar("SELECT count(*) FROM trades") == 120
    with world.conn:
        assert reconcile(world.conn).ok
