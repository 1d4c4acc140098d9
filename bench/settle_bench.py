"""Settlement benchmark: settled trades per second through the settle path on embedded PostgreSQL.

A seeded workload of trades between 200 funded accounts, every order with its funds hold (as
order intake leaves them), is generated and loaded before any timing. Each pass settles the same
trades on a fresh copy of the database (``CREATE DATABASE ... TEMPLATE``) through
:func:`trading.ledger.workflow.run_settlement`, the settle Lambda's code path (one transaction per
call, a warm reused connection), with batches of 1 (one Step Functions execution per
``TradeExecuted`` event) and of 10. A replay pass re-delivers every event (idempotent no-ops).
Afterwards reconciliation must report zero mismatches: the benchmark refuses to report a number
for a ledger that does not balance. Best of ``RUNS`` runs; JSON result in ``bench/results/``.
"""

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
from localcloud.postgres import EmbeddedPostgres
from psycopg2.extras import execute_values
from trading.db.migrate import apply_migrations
from trading.domain.enums import Side
from trading.domain.instruments import demo_instruments
from trading.ledger import post_transfer
from trading.ledger.reconcile import reconcile_dsn
from trading.ledger.workflow import run_settlement

from bench.results import environment, write_result

SEED = 20_261_125
TRADES = 2_000
ACCOUNTS = [f"acct-{i:03d}" for i in range(200)]
RUNS = 3
BATCH_SIZES = (1, 10)
INSTRUMENT = demo_instruments()[0]  # BTC-USD
INSTRUMENTS = {INSTRUMENT.symbol: INSTRUMENT}


def generate_trades(count: int = TRADES, seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 25, tzinfo=UTC)
    trades = []
    for seq in range(1, count + 1):
        maker, taker = rng.sample(ACCOUNTS, 2)
        trades.append(
            {
                "symbol": INSTRUMENT.symbol,
                "seq": seq,
                "trade_id": f"{INSTRUMENT.symbol}:{seq}",
                "price": 3_000_000 + rng.randint(-500, 500),
                "quantity": rng.randint(1, 200),
                "taker_side": rng.choice(["BUY", "SELL"]),
                "maker_order_id": f"m-{seq}",
                "taker_order_id": f"t-{seq}",
                "maker_account_id": maker,
                "taker_account_id": taker,
                "executed_at": (start + timedelta(milliseconds=seq)).isoformat(),
            }
        )
    return trades


def load_template(dsn: str, trades: list[dict[str, Any]]) -> None:
    """Accounts, deposits (through the ledger) and one hold per order, as intake would leave them."""
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        execute_values(cur, "INSERT INTO accounts (account_id) VALUES %s", [(a,) for a in ACCOUNTS])
    with conn:
        for account in ACCOUNTS:
            post_transfer(conn, f"dep-{account}-USD", account, "USD", "DEPOSIT", 10**15)
            post_transfer(conn, f"dep-{account}-BTC", account, "BTC", "DEPOSIT", 10**12)
    holds, held = [], {}
    for t in trades:
        notional = INSTRUMENT.notional_atoms(t["price"], t["quantity"])
        quote = notional + INSTRUMENT.fee_atoms(notional, INSTRUMENT.taker_fee_bps)
        base = INSTRUMENT.base_atoms(t["quantity"])
        buyer_is_taker = t["taker_side"] == Side.BUY
        buyer = (
            (t["taker_account_id"], t["taker_order_id"])
            if buyer_is_taker
            else (t["maker_account_id"], t["maker_order_id"])
        )
        seller = (
            (t["maker_account_id"], t["maker_order_id"])
            if buyer_is_taker
            else (t["taker_account_id"], t["taker_order_id"])
        )
        holds.append((buyer[1], buyer[0], "USD", INSTRUMENT.symbol, quote, quote))
        holds.append((seller[1], seller[0], "BTC", INSTRUMENT.symbol, base, base))
        held[(buyer[0], "USD")] = held.get((buyer[0], "USD"), 0) + quote
        held[(seller[0], "BTC")] = held.get((seller[0], "BTC"), 0) + base
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            """UPDATE balances b SET available = b.available - v.h, held = b.held + v.h
               FROM (VALUES %s) AS v(account_id, asset, h)
               WHERE b.account_id = v.account_id AND b.asset = v.asset""",
            [(a, asset, h) for (a, asset), h in held.items()],
            template="(%s, %s, %s::bigint)",
        )
        execute_values(
            cur, "INSERT INTO holds (order_id, account_id, asset, symbol, amount, remaining) VALUES %s", holds
        )
    conn.close()


def settle_pass(dsn: str, trades: list[dict[str, Any]], batch: int) -> float:
    conn = psycopg2.connect(dsn)
    events = [{"detail-type": "TradeExecuted", "source": "trading.matcher", "detail": t} for t in trades]
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        run_settlement(lambda: conn, events[i : i + batch], INSTRUMENTS)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> dict[str, Any]:
    trades = generate_trades()
    with tempfile.TemporaryDirectory(prefix="settle-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data")
        creds = server.start()
        try:
            admin = psycopg2.connect(creds.dsn())
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("CREATE DATABASE bench_template")
            apply_migrations(creds.dsn("bench_template"))
            load_template(creds.dsn("bench_template"), trades)
            passes: dict[str, Any] = {}
            run_number = 0
            for batch in BATCH_SIZES:
                durations, replays = [], []
                for _ in range(RUNS):
                    run_number += 1
                    name = f"bench_{run_number}"
                    with admin.cursor() as cur:
                        cur.execute(f"CREATE DATABASE {name} TEMPLATE bench_template")
                    durations.append(settle_pass(creds.dsn(name), trades, batch))
                    replays.append(settle_pass(creds.dsn(name), trades, batch))
                    report = reconcile_dsn(creds.dsn(name))
                    assert report.ok, report.mismatches[:5]
                    with admin.cursor() as cur:
                        cur.execute(f"DROP DATABASE {name}")
                best, best_replay = min(durations), min(replays)
                passes[f"batch_{batch}"] = {
                    "trades_per_s": round(len(trades) / best),
                    "replayed_events_per_s": round(len(trades) / best_replay),
                    "best_run_s": round(best, 4),
                    "runs_s": [round(d, 4) for d in durations],
                }
                print(
                    f"settle batch {batch:>2}: {passes[f'batch_{batch}']['trades_per_s']:>8,} trades/s  "
                    f"replay {passes[f'batch_{batch}']['replayed_events_per_s']:>8,} events/s",
                    file=sys.stderr,
                )
            admin.close()
        finally:
            server.stop()
    summary = {
        "benchmark": "settle",
        "environment": environment(),
        "workload": {"seed": SEED, "trades": len(trades), "accounts": len(ACCOUNTS)},
        "runs": RUNS,
        "passes": passes,
        "reconciled": True,
    }
    path = write_result("settle", summary)
    print(f"settle results: {path}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
