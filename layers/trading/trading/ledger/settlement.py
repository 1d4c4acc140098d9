"""Settlement: matcher trades become double-entry ledger movements, exactly once.

One call settles a batch in the caller's transaction. Per trade (quote amounts in atoms):

====================  =========  ==========================================
account               asset      amount
====================  =========  ==========================================
buyer                 base       + quantity
seller                base       - quantity
buyer                 quote      - (notional + buyer fee)
seller                quote      + (notional - seller fee)
``fees``              quote      + (buyer fee + seller fee)
====================  =========  ==========================================

so every journal sums to zero per asset (also enforced by a deferred trigger). Debits come out
of the paying order's hold first (``held``), any shortfall out of ``available``; credits go to
``available``. A ``CHECK`` keeps every balance non-negative: a trade that would overdraw fails
the whole batch. The ``trades`` primary key (and ``UNIQUE (symbol, seq)``) is the idempotency
guard: a replayed trade inserts nothing and moves nothing.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extensions import connection, cursor
from psycopg2.extras import execute_values
from pydantic import ValidationError

from trading.domain.enums import Side
from trading.domain.instruments import BPS_DENOMINATOR, Instrument, demo_instruments
from trading.domain.numbers import ceil_div
from trading.ledger.errors import PermanentSettlementError, TransientSettlementError
from trading.ledger.holds import release_settled_terminal_orders
from trading.ledger.models import TradeExecuted
from trading.ledger.transfers import FEE_ACCOUNT

BalanceKey = tuple[str, str]  # (account_id, asset)


@dataclass
class SettlementResult:
    settled: list[str] = field(default_factory=list)  # trade ids applied by this call
    duplicates: list[str] = field(default_factory=list)  # trade ids that were already settled
    released_holds: list[str] = field(default_factory=list)  # order ids whose hold was released


@dataclass(frozen=True)
class _Fees:
    buyer: int
    seller: int


def parse_trades(details: Iterable[Mapping[str, Any] | TradeExecuted]) -> list[TradeExecuted]:
    """Validate event details; anything malformed is a permanent failure of the batch."""
    trades = []
    for detail in details:
        if isinstance(detail, TradeExecuted):
            trades.append(detail)
            continue
        try:
            trades.append(TradeExecuted.model_validate(detail))
        except ValidationError as exc:
            raise PermanentSettlementError(f"malformed TradeExecuted detail: {exc}") from exc
    return trades


def fees_for(
    trade: TradeExecuted,
    instrument: Instrument,
    maker_fee_weight: int = 0,
    taker_fee_weight: int = 0,
) -> _Fees:
    """The trade's fees, charged on each order's cumulative fee-weighted notional, rounded up once.

    ``*_fee_weight`` is what the maker/taker order already settled, in either role, as
    ``sum(notional atoms * fee bps of the role)``. The fill pays
    ``ceil(after / 10_000) - ceil(before / 10_000)``, so an order's total fee is one rounding of
    ``sum(notional * bps) / 10_000`` however its fills are split, ordered or divided between maker
    and taker. That is exactly what the matcher takes from the order's hold per fill
    (``trading.engine.rules.fill_cost``), so a buy never pays more than its hold: a fee rounded
    per role could exceed it by an atom.
    """
    notional = instrument.notional_atoms(trade.price, trade.quantity)

    def increment(before: int, bps: int) -> int:
        return ceil_div(before + notional * bps, BPS_DENOMINATOR) - ceil_div(before, BPS_DENOMINATOR)

    maker = increment(maker_fee_weight, instrument.maker_fee_bps)
    taker = increment(taker_fee_weight, instrument.taker_fee_bps)
    if trade.taker_side is Side.BUY:
        return _Fees(buyer=taker, seller=maker)
    return _Fees(buyer=maker, seller=taker)


def settle_trades(
    conn: connection,
    trades: Iterable[Mapping[str, Any] | TradeExecuted],
    instruments: Mapping[str, Instrument] | None = None,
) -> SettlementResult:
    """Settle a batch of ``TradeExecuted`` details inside the caller's transaction."""
    by_symbol = instruments if instruments is not None else {i.symbol: i for i in demo_instruments()}
    unique = {t.trade_id: t for t in parse_trades(trades)}
    batch = sorted(unique.values(), key=lambda t: (t.symbol, t.seq))
    for trade in batch:
        if trade.symbol not in by_symbol:
            raise PermanentSettlementError(f"trade {trade.trade_id}: unknown symbol {trade.symbol}")
        if trade.trade_id != f"{trade.symbol}:{trade.seq}":
            raise PermanentSettlementError(f"trade id {trade.trade_id!r} is not '<symbol>:<seq>'")
    result = SettlementResult()
    if not batch:
        return result
    with conn.cursor() as cur:
        # Lock order (deadlock avoidance, shared with hold release): holds by order id, then
        # balances by (account_id, asset). Locking the holds first also serialises concurrent
        # deliveries of the same trade, so the duplicate check below is reliable.
        order_ids = sorted({oid for t in batch for oid in (t.maker_order_id, t.taker_order_id)})
        cur.execute(
            """SELECT order_id, account_id, asset, remaining FROM holds
               WHERE order_id = ANY(%s) AND status = 'ACTIVE' ORDER BY order_id FOR UPDATE""",
            (order_ids,),
        )
        holds = {row[0]: (row[1], row[2], int(row[3])) for row in cur.fetchall()}
        known = _already_settled(cur, batch)
        duplicates = [t for t in batch if t.trade_id in known]
        _check_duplicates_match(cur, duplicates)
        fresh = [t for t in batch if t.trade_id not in known]
        result.duplicates = [t.trade_id for t in duplicates]
        if not fresh:
            return result
        fees = _cumulative_fees(cur, fresh, by_symbol)
        inserted = _insert_trades(cur, fresh, fees)
        if len(inserted) != len(fresh):
            # Another transaction settled one of these trades concurrently (orders without a
            # hold are not serialised by the lock above); a retry sees them as duplicates.
            raise TransientSettlementError("a trade of the batch was settled concurrently; retry")
        _apply(cur, fresh, fees, by_symbol, holds)
        result.released_holds = release_settled_terminal_orders(cur, sorted(holds))
        result.settled = [t.trade_id for t in fresh]
    return result


def _already_settled(cur: cursor, batch: Sequence[TradeExecuted]) -> set[str]:
    """Ids of batch trades already in ``trades``. Every stored and incoming trade id is checked to
    be ``"<symbol>:<seq>"``, so the id alone also covers ``UNIQUE (symbol, seq)``."""
    cur.execute("SELECT trade_id FROM trades WHERE trade_id = ANY(%s)", ([t.trade_id for t in batch],))
    return {row[0] for row in cur.fetchall()}


def _cumulative_fees(
    cur: cursor, fresh: Sequence[TradeExecuted], by_symbol: Mapping[str, Instrument]
) -> dict[str, _Fees]:
    """Fees of the new trades in sequence order, continuing each order's settled fee weight."""
    weight: dict[str, int] = {}  # order_id -> settled sum(notional atoms * bps of its role)
    order_ids = sorted({oid for t in fresh for oid in (t.maker_order_id, t.taker_order_id)})
    cur.execute(
        """SELECT 'maker', maker_order_id, symbol, sum(price::numeric * quantity) FROM trades
           WHERE maker_order_id = ANY(%s) GROUP BY 2, 3
           UNION ALL
           SELECT 'taker', taker_order_id, symbol, sum(price::numeric * quantity) FROM trades
           WHERE taker_order_id = ANY(%s) GROUP BY 2, 3""",
        (order_ids, order_ids),
    )
    for role, order_id, symbol, notional in cur.fetchall():
        inst = by_symbol.get(symbol)
        if inst is None:
            continue
        bps = inst.maker_fee_bps if role == "maker" else inst.taker_fee_bps
        weight[order_id] = weight.get(order_id, 0) + int(notional) * inst.notional_to_quote_atoms * bps
    fees: dict[str, _Fees] = {}
    for t in fresh:
        inst = by_symbol[t.symbol]
        maker, taker = t.maker_order_id, t.taker_order_id
        fees[t.trade_id] = fees_for(t, inst, weight.get(maker, 0), weight.get(taker, 0))
        notional = inst.notional_atoms(t.price, t.quantity)
        weight[maker] = weight.get(maker, 0) + notional * inst.maker_fee_bps
        weight[taker] = weight.get(taker, 0) + notional * inst.taker_fee_bps
    return fees


def _insert_trades(cur: cursor, batch: Sequence[TradeExecuted], fees: Mapping[str, _Fees]) -> set[str]:
    rows = []
    for t in batch:
        fee = fees[t.trade_id]
        buyer_is_taker = t.taker_side is Side.BUY
        maker_fee, taker_fee = (fee.seller, fee.buyer) if buyer_is_taker else (fee.buyer, fee.seller)
        rows.append(
            (
                t.trade_id,
                t.symbol,
                t.seq,
                t.price,
                t.quantity,
                t.taker_side.value,
                t.maker_order_id,
                t.taker_order_id,
                t.maker_account_id,
                t.taker_account_id,
                maker_fee,
                taker_fee,
                t.executed_at,
            )
        )
    inserted = execute_values(
        cur,
        """INSERT INTO trades (trade_id, symbol, seq, price, quantity, taker_side, maker_order_id,
               taker_order_id, maker_account_id, taker_account_id, maker_fee, taker_fee, executed_at)
           VALUES %s ON CONFLICT DO NOTHING RETURNING trade_id""",
        rows,
        fetch=True,
    )
    return {row[0] for row in inserted}


_COMPARED = (
    "trade_id",
    "symbol",
    "seq",
    "price",
    "quantity",
    "taker_side",
    "maker_order_id",
    "taker_order_id",
    "maker_account_id",
    "taker_account_id",
)


def _check_duplicates_match(cur: cursor, duplicates: Sequence[TradeExecuted]) -> None:
    """A replay must be the same trade; a different trade under a used id/seq is corrupt input."""
    for t in duplicates:
        cur.execute(
            f"SELECT {', '.join(_COMPARED)} FROM trades WHERE trade_id = %s",  # noqa: S608
            (t.trade_id,),
        )
        stored = cur.fetchall()
        incoming = tuple(
            getattr(t, name).value if name == "taker_side" else getattr(t, name) for name in _COMPARED
        )
        if stored != [incoming]:
            raise PermanentSettlementError(f"trade {t.trade_id} conflicts with an already settled trade")


def _apply(
    cur: cursor,
    trades: Sequence[TradeExecuted],
    fees: Mapping[str, _Fees],
    by_symbol: Mapping[str, Instrument],
    holds: Mapping[str, tuple[str, str, int]],
) -> None:
    keys: set[BalanceKey] = set()
    for t in trades:
        inst = by_symbol[t.symbol]
        keys.update(
            {
                (t.buyer_account_id, inst.base_asset),
                (t.seller_account_id, inst.base_asset),
                (t.buyer_account_id, inst.quote_asset),
                (t.seller_account_id, inst.quote_asset),
                (FEE_ACCOUNT, inst.quote_asset),
            }
        )
    ordered = sorted(keys)
    # Create missing balance rows, then lock all of them, in (account_id, asset) order.
    cur.execute(
        """WITH wanted AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS w(account_id, asset)),
                created AS (INSERT INTO balances (account_id, asset)
                            SELECT account_id, asset FROM wanted ORDER BY account_id, asset
                            ON CONFLICT (account_id, asset) DO NOTHING)
           SELECT b.account_id FROM balances b JOIN wanted w USING (account_id, asset)
           ORDER BY b.account_id, b.asset FOR UPDATE OF b""",
        ([k[0] for k in ordered], [k[1] for k in ordered]),
    )

    available: defaultdict[BalanceKey, int] = defaultdict(int)
    held: defaultdict[BalanceKey, int] = defaultdict(int)
    hold_remaining = {oid: h[2] for oid, h in holds.items()}
    journals: list[tuple[str, str]] = []
    legs: list[tuple[str, str, str, int, str]] = []

    def debit(order_id: str, account_id: str, asset: str, amount: int) -> None:
        hold = holds.get(order_id)
        from_hold = 0
        if hold is not None and hold[0] == account_id and hold[1] == asset:
            from_hold = min(amount, hold_remaining[order_id])
            hold_remaining[order_id] -= from_hold
        held[(account_id, asset)] -= from_hold
        available[(account_id, asset)] -= amount - from_hold

    for t in trades:
        inst = by_symbol[t.symbol]
        fee = fees[t.trade_id]
        base = inst.base_atoms(t.quantity)
        notional = inst.notional_atoms(t.price, t.quantity)
        buyer, seller, journal = t.buyer_account_id, t.seller_account_id, f"trade:{t.trade_id}"
        debit(t.seller_order_id, seller, inst.base_asset, base)
        available[(buyer, inst.base_asset)] += base
        debit(t.buyer_order_id, buyer, inst.quote_asset, notional + fee.buyer)
        available[(seller, inst.quote_asset)] += notional - fee.seller
        available[(FEE_ACCOUNT, inst.quote_asset)] += fee.buyer + fee.seller
        journals.append((journal, "TRADE"))
        for account, asset, amount, memo in (
            (buyer, inst.base_asset, base, "base"),
            (seller, inst.base_asset, -base, "base"),
            (buyer, inst.quote_asset, -(notional + fee.buyer), "quote"),
            (seller, inst.quote_asset, notional - fee.seller, "quote"),
            (FEE_ACCOUNT, inst.quote_asset, fee.buyer + fee.seller, "fee"),
        ):
            if amount:
                legs.append((journal, account, asset, amount, memo))

    deltas = [(k[0], k[1], available[k], held[k]) for k in ordered if available[k] or held[k]]
    changed = [(oid, rem) for oid, rem in sorted(hold_remaining.items()) if rem != holds[oid][2]]
    # All writes in one statement (one round trip); the journal trigger checks at commit.
    cur.execute(
        """WITH j AS (INSERT INTO journals (journal_id, kind) SELECT unnest(%s::text[]), 'TRADE'),
                e AS (INSERT INTO ledger_entries (journal_id, account_id, asset, amount, memo)
                      SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[])),
                h AS (UPDATE holds SET remaining = v.remaining, updated_at = now()
                      FROM unnest(%s::text[], %s::bigint[]) AS v(order_id, remaining)
                      WHERE holds.order_id = v.order_id)
           UPDATE balances b SET available = b.available + v.da, held = b.held + v.dh, updated_at = now()
           FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[]) AS v(account_id, asset, da, dh)
           WHERE b.account_id = v.account_id AND b.asset = v.asset""",
        (
            [j[0] for j in journals],
            *([leg[i] for leg in legs] for i in range(5)),
            [c[0] for c in changed],
            [c[1] for c in changed],
            *([d[i] for d in deltas] for i in range(4)),
        ),
    )
