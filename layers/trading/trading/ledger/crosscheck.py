"""Reconciliation against records the ledger does not write (docs/ledger.md, "Reconciliation").

The ledger's own proofs (:mod:`trading.ledger.reconcile`) all hold while the ledger silently
misses what the matcher did. These checks compare PostgreSQL with independent records:

* the matcher's ``Orders`` items: ``filled_quantity`` is committed in the same DynamoDB
  transaction as the order's ``TradeExecuted`` events, so it is the matcher's durable count of the
  fills it committed; ``status`` says whether the order can still trade;
* the matcher's outbox (``OrderBooks`` ``outbox#`` items): events committed and not yet published
  (the matcher deletes an item once ``PutEvents`` succeeded), the one place a committed trade is
  named by id before it reaches the bus;
* the settlement DLQ: trades the settlement workflow gave up on.

Checks (each mismatch names the order, trade or queue):

* ``unsettled_trade``: an order whose ``filled_quantity`` exceeds the quantity settled for it in
  ``trades``, once its item has been quiet for the grace period; and a ``TradeExecuted`` in an
  outbox item older than the grace period that is not in ``trades``.
* ``filled_quantity``: more settled for an order than the matcher filled (after the grace
  period), or settled fills of an order ``Orders`` does not have.
* ``terminal_hold``: an ACTIVE hold whose order is terminal and fully settled (the release is
  due), or whose order has no ``Orders`` item, after the grace period. A terminal order whose fills
  are not all settled keeps its hold by design; that case is reported as ``unsettled_trade``.
* ``settlement_dlq``: the settlement DLQ is not empty.
* ``pending_order``: an order still PENDING past the intake timeout plus the grace period.
* ``coverage``: more candidate orders than one run examines (nothing is proven beyond them).

Which orders are examined: every order with an ACTIVE hold, every hold changed within the
lookback, and both orders of every trade executed within it. An ``Orders`` item with neither a hold
nor a trade is not examined (such an order never held or moved funds).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from psycopg2.extensions import connection
from pydantic import BaseModel, ConfigDict, Field

from trading.domain.enums import OrderStatus
from trading.ledger.orders import OrderSnapshot, to_snapshot
from trading.ledger.report import Mismatch

CROSS_CHECKS = (
    "unsettled_trade",
    "filled_quantity",
    "terminal_hold",
    "settlement_dlq",
    "pending_order",
    "coverage",
)


class OrderItems(Protocol):
    """Reads ``Orders`` items by id, strongly consistent (missing ids are absent from the result)."""

    def get_many(self, order_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]: ...


class MessageCount(Protocol):
    """How many messages a queue holds (visible, in flight and delayed)."""

    def count(self) -> int: ...


@dataclass(frozen=True)
class OutboxRecord:
    """One ``OrderBooks`` outbox item: committed by the matcher, not yet deleted after publishing."""

    symbol: str
    key: str
    created_ms: int
    events: Sequence[tuple[str, Mapping[str, Any]]]  # (detail type, detail)


class MatcherOutbox(Protocol):
    def items(self, symbol: str, limit: int) -> Sequence[OutboxRecord]:
        """The symbol's outbox items, oldest first, at most ``limit``."""
        ...


@dataclass(frozen=True)
class IndependentRecords:
    """Where the cross checks read the matcher's and the workflow's side of the story."""

    orders: OrderItems
    settlement_dlq: MessageCount
    outbox: MatcherOutbox | None = None
    symbols: Sequence[str] = ()
    dlq_name: str = "settlement-dlq"


@dataclass(frozen=True)
class CrossCheckPolicy:
    """How long a difference may be settlement (or sweeping) in flight before it is a mismatch."""

    grace: timedelta = timedelta(minutes=15)
    pending_timeout: timedelta = timedelta(minutes=10)  # the hold sweeper's PENDING_TIMEOUT_SECONDS
    lookback: timedelta = timedelta(days=2)
    max_orders: int = 50_000
    max_outbox_items: int = 1_000  # per symbol; normally a handful (deleted once published)


DEFAULT_POLICY = CrossCheckPolicy()


class ReconcileRequest(BaseModel):
    """What an invocation may ask: the schedule sends nothing of it; an operator verifying a
    re-drive sends ``{"grace_seconds": 0}`` to see the state now rather than an hour later."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    grace_seconds: int | None = Field(None, ge=0)


@dataclass
class CrossCheckResult:
    mismatches: list[Mismatch] = field(default_factory=list)
    orders_examined: int = 0
    outbox_items_examined: int = 0


# Candidate orders, keyset-free: one bounded read (the limit is max_orders + 1 to see truncation).
_CANDIDATES = """
SELECT order_id FROM (
    SELECT order_id FROM holds WHERE status = 'ACTIVE'
    UNION SELECT order_id FROM holds WHERE updated_at >= %(since)s
    UNION SELECT maker_order_id FROM trades WHERE executed_at >= %(since)s
    UNION SELECT taker_order_id FROM trades WHERE executed_at >= %(since)s
) c ORDER BY order_id LIMIT %(limit)s
"""

# Per order: its hold (if any) and the quantity settled for it on either side of a trade.
_ORDER_FACTS = """
SELECT c.order_id, h.status, h.remaining, h.created_at,
       coalesce((SELECT sum(quantity) FROM trades t WHERE t.maker_order_id = c.order_id), 0)
     + coalesce((SELECT sum(quantity) FROM trades t WHERE t.taker_order_id = c.order_id), 0)
FROM unnest(%s::text[]) AS c(order_id) LEFT JOIN holds h USING (order_id)
ORDER BY c.order_id
"""

_SETTLED_TRADES = "SELECT trade_id FROM trades WHERE trade_id = ANY(%s)"


@dataclass(frozen=True)
class _Facts:
    hold_status: str | None
    hold_remaining: int
    held_since: datetime | None
    settled: int


def _order_facts(conn: connection, order_ids: Sequence[str]) -> dict[str, _Facts]:
    with conn.cursor() as cur:
        cur.execute(_ORDER_FACTS, (list(order_ids),))
        return {
            order_id: _Facts(status, int(remaining or 0), since, int(settled))
            for order_id, status, remaining, since, settled in cur.fetchall()
        }


def cross_check(
    conn: connection,
    records: IndependentRecords,
    policy: CrossCheckPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> CrossCheckResult:
    """Run the cross checks; the PostgreSQL reads use the caller's transaction (a snapshot).

    PostgreSQL is read before DynamoDB and SQS: a fill settled after the snapshot was taken was
    settled late anyway, and ``filled_quantity`` only grows, so reading it later never makes the
    ledger look ahead of the matcher.
    """
    now = now or datetime.now(UTC)
    result = CrossCheckResult()
    out = result.mismatches
    with conn.cursor() as cur:
        cur.execute(_CANDIDATES, {"since": now - policy.lookback, "limit": policy.max_orders + 1})
        candidates = [row[0] for row in cur.fetchall()]
    if len(candidates) > policy.max_orders:
        out.append(
            Mismatch(
                "coverage",
                "orders",
                policy.max_orders,
                len(candidates),
                "more candidate orders than one run examines; the rest are unproven",
            )
        )
        candidates = candidates[: policy.max_orders]
    facts = _order_facts(conn, candidates)
    outbox = _stale_outbox(records, now - policy.grace, policy.max_outbox_items, out)
    result.outbox_items_examined = len(outbox)
    unsettled_ids = _unsettled_outbox_trades(conn, outbox)
    items = records.orders.get_many(candidates)
    result.orders_examined = len(candidates)
    in_outbox = _outbox_trades_by_order(outbox, unsettled_ids)
    for order_id in candidates:
        item = items.get(order_id)
        order_facts = facts[order_id]
        if item is None:
            out.extend(_missing_order(order_id, order_facts, policy, now))
        else:
            out.extend(_order_checks(to_snapshot(item), order_facts, in_outbox, policy, now))
    for record, trade_id, quantity in _outbox_trades(outbox):
        if trade_id in unsettled_ids:
            out.append(
                Mismatch(
                    "unsettled_trade",
                    trade_id,
                    quantity,
                    0,
                    f"committed in {record.symbol} {record.key}, unpublished past the grace",
                )
            )
    depth = records.settlement_dlq.count()
    if depth:
        out.append(
            Mismatch(
                "settlement_dlq",
                records.dlq_name,
                0,
                depth,
                "parked settlements: fix the cause, re-drive (trading.ledger.redrive), reconcile again",
            )
        )
    return result


def _missing_order(order_id: str, facts: _Facts, policy: CrossCheckPolicy, now: datetime) -> list[Mismatch]:
    found = []
    if facts.settled:
        found.append(
            Mismatch(
                "filled_quantity",
                order_id,
                0,
                facts.settled,
                "settled fills of an order Orders does not have",
            )
        )
    elif facts.hold_status == "ACTIVE" and facts.held_since and facts.held_since < now - policy.grace:
        found.append(
            Mismatch(
                "terminal_hold",
                order_id,
                0,
                facts.hold_remaining,
                "ACTIVE hold of an order Orders does not have",
            )
        )
    return found


def _order_checks(
    order: OrderSnapshot,
    facts: _Facts,
    in_outbox: Mapping[str, list[str]],
    policy: CrossCheckPolicy,
    now: datetime,
) -> list[Mismatch]:
    found = []
    changed = order.updated_at or order.created_at
    quiet = changed is not None and changed < now - policy.grace
    filled, settled = order.filled_quantity, facts.settled
    if quiet and filled > settled:
        pending = in_outbox.get(order.order_id)
        detail = f"matcher filled {filled}, ledger settled {settled}"
        if pending:
            detail += f"; unpublished trades: {', '.join(pending)}"
        if facts.hold_status == "ACTIVE":
            detail += "; its hold stays ACTIVE until they settle"
        found.append(Mismatch("unsettled_trade", order.order_id, filled, settled, detail))
    if quiet and settled > filled:
        found.append(
            Mismatch(
                "filled_quantity",
                order.order_id,
                filled,
                settled,
                "ledger settled more than the matcher filled",
            )
        )
    if quiet and order.status.is_terminal and facts.hold_status == "ACTIVE" and settled >= filled:
        found.append(
            Mismatch(
                "terminal_hold",
                order.order_id,
                0,
                facts.hold_remaining,
                f"order {order.status.value} and fully settled, hold still ACTIVE",
            )
        )
    created = order.created_at or facts.held_since
    if (
        order.status is OrderStatus.PENDING
        and created
        and created < now - policy.pending_timeout - policy.grace
    ):
        age = int((now - created).total_seconds())
        limit = int((policy.pending_timeout + policy.grace).total_seconds())
        found.append(Mismatch("pending_order", order.order_id, limit, age, "seconds PENDING (limit, age)"))
    return found


def _stale_outbox(
    records: IndependentRecords, before: datetime, limit: int, out: list[Mismatch]
) -> list[OutboxRecord]:
    """Outbox items committed before ``before`` (older ones are not in flight any more)."""
    if records.outbox is None:
        return []
    cutoff_ms = int(before.timestamp() * 1000)
    stale: list[OutboxRecord] = []
    for symbol in records.symbols:
        items = records.outbox.items(symbol, limit + 1)
        if len(items) > limit:
            out.append(
                Mismatch(
                    "coverage", f"outbox:{symbol}", limit, len(items), "more outbox items than one run reads"
                )
            )
        stale.extend(item for item in items[:limit] if item.created_ms < cutoff_ms)
    return stale


def _outbox_trades(outbox: Iterable[OutboxRecord]) -> list[tuple[OutboxRecord, str, int]]:
    return [
        (record, str(detail["trade_id"]), int(detail.get("quantity", 0)))
        for record in outbox
        for detail_type, detail in record.events
        if detail_type == "TradeExecuted" and "trade_id" in detail
    ]


def _unsettled_outbox_trades(conn: connection, outbox: Sequence[OutboxRecord]) -> set[str]:
    ids = sorted({trade_id for _, trade_id, _ in _outbox_trades(outbox)})
    if not ids:
        return set()
    with conn.cursor() as cur:
        cur.execute(_SETTLED_TRADES, (ids,))
        settled = {row[0] for row in cur.fetchall()}
    return set(ids) - settled


def _outbox_trades_by_order(outbox: Sequence[OutboxRecord], unsettled: set[str]) -> dict[str, list[str]]:
    by_order: dict[str, list[str]] = {}
    for record in outbox:
        for detail_type, detail in record.events:
            if detail_type != "TradeExecuted" or detail.get("trade_id") not in unsettled:
                continue
            for side in ("maker_order_id", "taker_order_id"):
                by_order.setdefault(str(detail[side]), []).append(str(detail["trade_id"]))
    return by_order
