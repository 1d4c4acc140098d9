"""Reconciliation: proofs that the balances, holds and ledger agree.

Checks (each mismatch is reported, nothing is fixed):

* ``asset_total``: per asset, sum of all balances (available + held) == sum of the ledger
  entries of non-external accounts == -(sum of the ``external`` account's entries) ==
  deposits - withdrawals (from ``transfers``). Trading only moves money between accounts, so
  the total per asset is unchanged by it.
* ``account_balance``: per (account, asset), available + held == that account's ledger sum.
* ``held``: per (account, asset), held == the sum of the ACTIVE holds' remaining.
* ``journal_unbalanced``: every journal's legs sum to zero per asset.
* ``trade_legs``: every trade has its ``trade:<trade_id>`` journal with base and quote legs, and
  every TRADE journal has its trade.
* ``transfer_legs``: every transfer has its journal, and every DEPOSIT/WITHDRAWAL journal its transfer.

``reconcile_snapshot(conn, records)`` adds the checks against independent records (the matcher's
``Orders`` items and outbox, the settlement DLQ): :mod:`trading.ledger.crosscheck`.

Run it from the admin command line (exit status 1 when there is a mismatch, 2 on a usage error):
``python -m trading.ledger.reconcile postgresql://... [--orders-table T --settlement-dlq-url URL
[--order-books-table T --symbols BTC-USD,ETH-USD] [--grace-seconds N]]``.
"""

import argparse
import json
import sys
from datetime import datetime, timedelta

import psycopg2
from psycopg2.extensions import connection

from trading.ledger.crosscheck import (
    CROSS_CHECKS,
    DEFAULT_POLICY,
    CrossCheckPolicy,
    IndependentRecords,
    cross_check,
)
from trading.ledger.report import Mismatch, ReconciliationReport

__all__ = [
    "LEDGER_CHECKS",
    "Mismatch",
    "ReconciliationReport",
    "reconcile",
    "reconcile_dsn",
    "reconcile_snapshot",
]

LEDGER_CHECKS = (
    "asset_total",
    "account_balance",
    "held",
    "journal_unbalanced",
    "trade_legs",
    "transfer_legs",
)


_ASSET_TOTALS = """
WITH bal AS (SELECT asset, sum(available + held) AS total FROM balances GROUP BY asset),
     led AS (SELECT e.asset,
                    sum(e.amount) FILTER (WHERE a.kind <> 'EXTERNAL') AS internal,
                    sum(e.amount) FILTER (WHERE a.kind = 'EXTERNAL') AS external
             FROM ledger_entries e JOIN accounts a USING (account_id) GROUP BY e.asset),
     xfer AS (SELECT asset, sum(CASE direction WHEN 'DEPOSIT' THEN amount ELSE -amount END) AS net
              FROM transfers GROUP BY asset)
SELECT s.asset, coalesce(bal.total, 0), coalesce(led.internal, 0), coalesce(led.external, 0),
       coalesce(xfer.net, 0)
FROM assets s LEFT JOIN bal USING (asset) LEFT JOIN led USING (asset) LEFT JOIN xfer USING (asset)
ORDER BY s.asset
"""

_ACCOUNT_BALANCES = """
WITH led AS (SELECT e.account_id, e.asset, sum(e.amount) AS total
             FROM ledger_entries e JOIN accounts a USING (account_id)
             WHERE a.kind <> 'EXTERNAL' GROUP BY e.account_id, e.asset),
     bal AS (SELECT account_id, asset, available + held AS total FROM balances)
SELECT account_id, asset, coalesce(led.total, 0), coalesce(bal.total, 0)
FROM led FULL JOIN bal USING (account_id, asset)
WHERE coalesce(led.total, 0) <> coalesce(bal.total, 0)
ORDER BY account_id, asset
"""

_HELD = """
WITH h AS (SELECT account_id, asset, sum(remaining) AS total FROM holds
           WHERE status = 'ACTIVE' GROUP BY account_id, asset)
SELECT account_id, asset, coalesce(h.total, 0), coalesce(b.held, 0)
FROM h FULL JOIN balances b USING (account_id, asset)
WHERE coalesce(h.total, 0) <> coalesce(b.held, 0)
ORDER BY account_id, asset
"""

_UNBALANCED = """
SELECT journal_id, asset, sum(amount) FROM ledger_entries GROUP BY journal_id, asset
HAVING sum(amount) <> 0 ORDER BY journal_id, asset
"""

# Trades whose journal is missing or lacks a base or quote leg.
_TRADE_LEGS = """
SELECT t.trade_id, count(e.entry_id) FILTER (WHERE e.memo = 'base'),
       count(e.entry_id) FILTER (WHERE e.memo = 'quote')
FROM trades t LEFT JOIN ledger_entries e ON e.journal_id = 'trade:' || t.trade_id
GROUP BY t.trade_id
HAVING count(e.entry_id) FILTER (WHERE e.memo = 'base') <> 2
    OR count(e.entry_id) FILTER (WHERE e.memo = 'quote') NOT IN (1, 2)
ORDER BY t.trade_id
"""

_ORPHAN_TRADE_JOURNALS = """
SELECT j.journal_id FROM journals j
WHERE j.kind = 'TRADE' AND NOT EXISTS (SELECT 1 FROM trades t WHERE 'trade:' || t.trade_id = j.journal_id)
ORDER BY j.journal_id
"""

_TRANSFER_LEGS = """
SELECT t.transfer_id, t.amount, coalesce(sum(abs(e.amount)) FILTER (WHERE e.account_id = t.account_id), 0)
FROM transfers t
LEFT JOIN ledger_entries e ON e.journal_id = lower(t.direction) || ':' || t.transfer_id
GROUP BY t.transfer_id, t.amount
HAVING coalesce(sum(abs(e.amount)) FILTER (WHERE e.account_id = t.account_id), 0) <> t.amount
ORDER BY t.transfer_id
"""

_ORPHAN_TRANSFER_JOURNALS = """
SELECT j.journal_id FROM journals j
WHERE j.kind IN ('DEPOSIT', 'WITHDRAWAL') AND NOT EXISTS (
    SELECT 1 FROM transfers t WHERE lower(t.direction) || ':' || t.transfer_id = j.journal_id)
ORDER BY j.journal_id
"""


def reconcile(conn: connection) -> ReconciliationReport:
    """Run every check in the caller's transaction. For a consistent result while trading goes
    on, use :func:`reconcile_snapshot` (one REPEATABLE READ snapshot for all checks)."""
    report = ReconciliationReport(checked=list(LEDGER_CHECKS))
    out = report.mismatches
    with conn.cursor() as cur:
        cur.execute(_ASSET_TOTALS)
        for row in cur.fetchall():
            asset = row[0]
            balances, internal, external, net = (int(v) for v in row[1:])
            report.assets[asset] = balances
            if internal != balances:
                out.append(Mismatch("asset_total", asset, balances, internal, "ledger of internal accounts"))
            if -external != balances:
                out.append(Mismatch("asset_total", asset, balances, -external, "minus the external ledger"))
            if net != balances:
                out.append(Mismatch("asset_total", asset, balances, net, "deposits minus withdrawals"))
        cur.execute(_ACCOUNT_BALANCES)
        for account_id, asset, ledger, balance in cur.fetchall():
            out.append(Mismatch("account_balance", f"{account_id}/{asset}", int(ledger), int(balance)))
        cur.execute(_HELD)
        for account_id, asset, holds, held in cur.fetchall():
            out.append(Mismatch("held", f"{account_id}/{asset}", int(holds), int(held)))
        cur.execute(_UNBALANCED)
        for journal_id, asset, total in cur.fetchall():
            out.append(Mismatch("journal_unbalanced", f"{journal_id}/{asset}", 0, int(total)))
        cur.execute(_TRADE_LEGS)
        for trade_id, base_legs, quote_legs in cur.fetchall():
            out.append(Mismatch("trade_legs", trade_id, 2, int(base_legs), f"quote legs: {quote_legs}"))
        cur.execute(_ORPHAN_TRADE_JOURNALS)
        for (journal_id,) in cur.fetchall():
            out.append(Mismatch("trade_legs", journal_id, 0, 1, "journal without a trade"))
        cur.execute(_TRANSFER_LEGS)
        for transfer_id, amount, posted in cur.fetchall():
            out.append(Mismatch("transfer_legs", transfer_id, int(amount), int(posted)))
        cur.execute(_ORPHAN_TRANSFER_JOURNALS)
        for (journal_id,) in cur.fetchall():
            out.append(Mismatch("transfer_legs", journal_id, 0, 1, "journal without a transfer"))
    return report


def reconcile_snapshot(
    conn: connection,
    records: IndependentRecords | None = None,
    policy: CrossCheckPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> ReconciliationReport:
    """Reconcile in one read-only REPEATABLE READ snapshot, whatever the connection's session
    settings (the reader connection is in autocommit mode); the session is left as it was.

    With ``records`` the ledger is also compared with the matcher's and the workflow's records
    (:mod:`trading.ledger.crosscheck`); the PostgreSQL side of those checks reads the same snapshot.
    """
    if conn.autocommit:
        with conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                return _run(conn, records, policy, now)
            finally:
                cur.execute("ROLLBACK")
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        return _run(conn, records, policy, now)
    finally:
        conn.rollback()


def _run(
    conn: connection, records: IndependentRecords | None, policy: CrossCheckPolicy, now: datetime | None
) -> ReconciliationReport:
    report = reconcile(conn)
    if records is not None:
        crossed = cross_check(conn, records, policy, now)
        report.mismatches.extend(crossed.mismatches)
        report.checked.extend(CROSS_CHECKS)
        report.examined.update(orders=crossed.orders_examined, outbox_items=crossed.outbox_items_examined)
    return report


def reconcile_dsn(
    dsn: str, records: IndependentRecords | None = None, policy: CrossCheckPolicy = DEFAULT_POLICY
) -> ReconciliationReport:
    """Reconcile a database in one read-only REPEATABLE READ snapshot."""
    conn = psycopg2.connect(dsn)
    try:
        return reconcile_snapshot(conn, records, policy)
    finally:
        conn.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trading.ledger.reconcile", description=_CLI_HELP)
    parser.add_argument("dsn", help="postgresql://user:pass@host:port/db (use the reader)")
    parser.add_argument("--orders-table", help="the Orders table: enables the cross checks")
    parser.add_argument("--settlement-dlq-url", help="the settlement DLQ (required with --orders-table)")
    parser.add_argument("--order-books-table", help="the OrderBooks table (the matcher's outbox)")
    parser.add_argument("--symbols", default="", help="comma separated symbols whose outbox is read")
    parser.add_argument("--grace-seconds", type=int, default=900)
    parser.add_argument("--pending-timeout-seconds", type=int, default=600)
    parser.add_argument("--lookback-seconds", type=int, default=172_800)
    parser.add_argument("--max-orders", type=int, default=50_000)
    return parser


_CLI_HELP = """Print the reconciliation report as JSON; exit 0 when ok, 1 on any mismatch, 2 on a usage
error. Without --orders-table only the ledger's own proofs run ("checked" lists what ran)."""


def _records(args: argparse.Namespace) -> IndependentRecords | None:
    if not args.orders_table:
        return None
    from trading.adapters.matcher_outbox import MatcherOutboxReader  # noqa: PLC0415 - only with AWS
    from trading.adapters.orders_table import OrdersTable  # noqa: PLC0415
    from trading.adapters.queue_depth import QueueDepth  # noqa: PLC0415

    return IndependentRecords(
        orders=OrdersTable(args.orders_table),
        settlement_dlq=QueueDepth(args.settlement_dlq_url),
        outbox=MatcherOutboxReader(args.order_books_table) if args.order_books_table else None,
        symbols=[s for s in args.symbols.split(",") if s],
        dlq_name=args.settlement_dlq_url.rsplit("/", 1)[-1],
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.orders_table and not args.settlement_dlq_url:
        print("--orders-table needs --settlement-dlq-url", file=sys.stderr)  # noqa: T201
        return 2
    policy = CrossCheckPolicy(
        grace=timedelta(seconds=args.grace_seconds),
        pending_timeout=timedelta(seconds=args.pending_timeout_seconds),
        lookback=timedelta(seconds=args.lookback_seconds),
        max_orders=args.max_orders,
    )
    report = reconcile_dsn(args.dsn, _records(args), policy)
    print(json.dumps(report.to_dict(), indent=2))  # noqa: T201
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
