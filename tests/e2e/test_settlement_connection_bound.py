"""Settlement never runs PostgreSQL out of connections: 2,000 trades through the local runtime.

Each ``TradeExecuted`` event goes the way the matcher's do: onto the trading bus, through the
EventBridge rule into the settlement state machine (moto Step Functions, the real ASL), whose task
invokes the real settle Lambda on a new thread every time. Meanwhile a sampler asks PostgreSQL how
many backends the functions hold; it must never exceed the runtime's pools' bound
(``DB_POOL_MAX`` per endpoint), and every trade must be settled exactly once, including a share of
events delivered twice. Before the pools, every settled trade left one connection behind and
PostgreSQL refused connections after about 195 trades.

The trades' orders never exist in the matcher's records, so they are named like those of
``test_settlement_workflow`` (``buy-*``/``sell-*``): the staged faults that reconciliation in the
shared runtime allows (``staged_faults.py``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg2
import pytest
from trading.domain.instruments import demo_instruments

# Last in the shared runtime (tests/e2e/conftest.py): its 2,000 synthetic BTC-USD trades, with
# sequence numbers above the matcher's, would otherwise be every later test's "recent trades".
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.shared_runtime_last]

TRADES = 2_000
PAIRS = 40  # buyer/seller pairs, each with one resting order per side (hold rows)
IN_FLIGHT = 64  # trades handed over but not yet settled, more than the pool has connections
EVENTBRIDGE_TRADES = 300  # the first ones one event per trade through the bus, as the matcher does
BATCH = 4  # the rest as batches of 4 trades per execution (fewer executions, same settle path)
REPLAYED_EVERY = 10  # every tenth delivery is made twice
PRICE = 3_000_000  # 30,000.00 USD
QUANTITY = 1  # 0.0001 BTC
BTC_USD = {i.symbol: i for i in demo_instruments()}["BTC-USD"]


def execute(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def fund_pairs(runtime: Any, tag: str) -> list[tuple[str, str, str, str]]:
    """Buyers with USD and sellers with BTC (through the admin function), each with a hold."""
    per_pair = TRADES // PAIRS
    buy_hold = 2 * per_pair * BTC_USD.notional_atoms(PRICE, QUANTITY)  # covers the taker fee
    sell_hold = per_pair * BTC_USD.base_atoms(QUANTITY)
    pairs = []
    rows = []
    for n in range(PAIRS):
        buyer, seller = f"bound-buyer-{tag}-{n}", f"bound-seller-{tag}-{n}"
        for account, asset, amount in ((buyer, "USD", "1000"), (seller, "BTC", "1")):
            runtime.admin({"action": "create_account", "account_id": account})
            runtime.admin({"action": "deposit", "account_id": account, "asset": asset, "amount": amount})
        buy, sell = f"buy-bound-{tag}-{n}", f"sell-bound-{tag}-{n}"  # see staged_faults.py
        rows += [(buy, buyer, "USD", buy_hold), (sell, seller, "BTC", sell_hold)]
        pairs.append((buyer, seller, buy, sell))
    conn = psycopg2.connect(runtime.db.dsn())
    try:
        with conn, conn.cursor() as cur:
            for order, account, asset, amount in rows:
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
    return pairs


def trade_detail(seq: int, pair: tuple[str, str, str, str]) -> dict[str, Any]:
    buyer, seller, buy, sell = pair
    return {
        "symbol": "BTC-USD", "seq": seq, "trade_id": f"BTC-USD:{seq}", "price": PRICE, "quantity": QUANTITY,
        "taker_side": "BUY", "maker_order_id": sell, "taker_order_id": buy, "maker_account_id": seller,
        "taker_account_id": buyer, "executed_at": "2026-11-30T12:00:00.000000Z",
    }  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """Trades handed to settlement in one go: one PutEvents of single-trade events (the matcher's
    way: the rule starts one execution per event), or one execution of a batch of events."""

    last_trade: int  # index of the highest trade in it
    details: list[dict[str, Any]]
    eventbridge: bool


def deliveries(pairs: list[tuple[str, str, str, str]], base_seq: int) -> list[Delivery]:
    """The first EVENTBRIDGE_TRADES trades one event each through the bus, the rest in batches of
    BATCH per execution; every REPLAYED_EVERY-th delivery is made twice in a row."""
    out: list[Delivery] = []
    index = 0
    while index < TRADES:
        eventbridge = index < EVENTBRIDGE_TRADES
        size = 10 if eventbridge else BATCH
        details = [
            trade_detail(base_seq + i, pairs[i % PAIRS]) for i in range(index, min(index + size, TRADES))
        ]
        index += len(details)
        delivery = Delivery(index - 1, details, eventbridge)
        out += [delivery] * (2 if len(out) % REPLAYED_EVERY == 0 else 1)
    return out


def deliver(runtime: Any, clients: dict[str, Any], delivery: Delivery) -> None:
    if delivery.eventbridge:
        entries = [
            {
                "Source": "trading.matcher",
                "DetailType": "TradeExecuted",
                "Detail": json.dumps(detail),
                "EventBusName": f"{runtime.stack_name}-trading",
            }
            for detail in delivery.details
        ]
        assert clients["events"].put_events(Entries=entries)["FailedEntryCount"] == 0
        return
    events = [
        {"version": "0", "id": str(uuid.uuid4()), "detail-type": "TradeExecuted", "source": "trading.matcher",
         "account": "123456789012", "time": "2026-11-30T12:00:00Z", "region": runtime.region,
         "resources": [], "detail": detail}
        for detail in delivery.details
    ]  # fmt: skip
    clients["stepfunctions"].start_execution(
        stateMachineArn=runtime.physical_ids["SettlementStateMachine"],
        name=f"bound-{uuid.uuid4().hex}",
        input=json.dumps({"events": events}),
    )


class BackendSampler(threading.Thread):
    """Counts the functions' PostgreSQL backends (by the pools' application names) every few ms,
    from the server's own view, on a connection to another database (so it is never counted)."""

    def __init__(self, admin_dsn: str, dbname: str) -> None:
        super().__init__(name="backend-sampler", daemon=True)
        self._conn = psycopg2.connect(admin_dsn)
        self._conn.autocommit = True
        self._dbname = dbname
        self._stopping = threading.Event()
        self.samples: list[tuple[int, int, int]] = []  # (writer, reader, any client of the database)

    def run(self) -> None:
        with self._conn.cursor() as cur:
            while not self._stopping.is_set():
                cur.execute(
                    """SELECT count(*) FILTER (WHERE application_name = 'trading-writer'),
                              count(*) FILTER (WHERE application_name = 'trading-reader'),
                              count(*)
                         FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'""",
                    (self._dbname,),
                )
                writer, reader, total = cur.fetchone()
                self.samples.append((int(writer), int(reader), int(total)))
                time.sleep(0.005)
        self._conn.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)


def test_two_thousand_trades_settle_exactly_once_within_the_connection_bound(local_runtime: Any) -> None:
    runtime = local_runtime
    bound = runtime.db_pool_max
    tag = uuid.uuid4().hex[:8]
    base_seq = 3 * 10**12 + (uuid.uuid4().int % 10**6) * 10**4
    # Given 40 funded buyer/seller pairs with holds, and a sampler of PostgreSQL's backends
    pairs = fund_pairs(runtime, tag)
    planned = deliveries(pairs, base_seq)
    dsn = runtime.db.dsn()
    seqs = (base_seq, base_seq + TRADES - 1)

    def settled() -> int:
        [(count,)] = execute(
            dsn, "SELECT count(*) FROM trades WHERE symbol = 'BTC-USD' AND seq BETWEEN %s AND %s", seqs
        )
        return int(count)

    sampler = BackendSampler(runtime.postgres.credentials().dsn(), runtime.db.dbname)
    sampler.start()
    clients = {
        service: boto3.client(service, endpoint_url=runtime.urls.endpoint, region_name=runtime.region)
        for service in ("events", "stepfunctions")
    }
    # When the trades are handed to settlement, with up to IN_FLIGHT of them unsettled at a time
    sent, done = 0, 0
    deadline = time.monotonic() + 240
    try:
        while sent < len(planned) and time.monotonic() < deadline:
            trades_sent = planned[sent - 1].last_trade + 1 if sent else 0
            if trades_sent - done < IN_FLIGHT:
                deliver(runtime, clients, planned[sent])
                sent += 1
            else:
                time.sleep(0.05)
                done = settled()
        while settled() < TRADES and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sampler.stop()
    # Then every trade settled, once
    assert settled() == TRADES, runtime.db_pool_stats()
    # And PostgreSQL never saw more backends from the functions than their pools allow
    assert sampler.samples, "the sampler never ran"
    assert max(w for w, _, _ in sampler.samples) <= bound
    assert max(w + r for w, r, _ in sampler.samples) <= 2 * bound
    # (nothing else holds connections to the database either: at most this test's own probe)
    assert max(total - w - r for w, r, total in sampler.samples) <= 1
    assert max(w for w, _, _ in sampler.samples) >= 1
    stats = runtime.db_pool_stats()
    assert stats["writer"]["peak_size"] <= bound
    assert stats["writer"]["in_use"] == 0
    # And each trade was applied exactly once: 2,000 trade rows and journals, balances that add up
    [(trades, journals, entries_count)] = execute(
        dsn,
        """SELECT count(DISTINCT t.trade_id), count(DISTINCT j.journal_id), count(e.*)
             FROM trades t JOIN journals j ON j.journal_id = 'trade:' || t.trade_id
             JOIN ledger_entries e ON e.journal_id = j.journal_id
            WHERE t.symbol = 'BTC-USD' AND t.seq BETWEEN %s AND %s""",
        seqs,
    )
    assert (trades, journals, entries_count) == (TRADES, TRADES, 5 * TRADES)
    per_pair = TRADES // PAIRS
    buyers_btc = execute(
        dsn,
        "SELECT account_id, available FROM balances WHERE asset = 'BTC' AND account_id LIKE %s",
        (f"bound-buyer-{tag}-%",),
    )
    assert sorted(a for _, a in buyers_btc) == [per_pair * BTC_USD.base_atoms(QUANTITY)] * PAIRS
    [(sellers_usd, maker_fees)] = execute(
        dsn,
        """SELECT (SELECT sum(available) FROM balances WHERE asset = 'USD' AND account_id LIKE %s),
                  (SELECT sum(maker_fee) FROM trades WHERE symbol = 'BTC-USD' AND seq BETWEEN %s AND %s)""",
        (f"bound-seller-{tag}-%", *seqs),
    )
    assert sellers_usd == TRADES * BTC_USD.notional_atoms(PRICE, QUANTITY) - maker_fees
    # And nothing of this run was parked in the settlement DLQ
    sqs = boto3.client("sqs", endpoint_url=runtime.urls.endpoint, region_name=runtime.region)
    messages = sqs.receive_message(
        QueueUrl=runtime.physical_ids["SettlementDeadLetterQueue"], MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", [])
    assert [m for m in messages if tag in m["Body"]] == []
