"""The invariants, each over the snapshot of the real stores (and the workload's own record).

Each check returns a :class:`Check` with its name, whether it held, and what broke (ids first,
at most a few, with counts), so a failure can be followed up in the stores."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.soak.world import RESTING, TERMINAL

if TYPE_CHECKING:  # the checks only read these; tests pass plain stand-ins
    from bench.soak.snapshot import Snapshot
    from bench.soak.workload import Recorder
    from bench.soak.world import World

SHOWN = 5
# Rules that do not depend on the book: an order the intake accepted must never be rejected by
# the engine for one of these (intake and engine rules drifting apart).
BOOK_INDEPENDENT_CODES = frozenset(
    {
        "VALIDATION_ERROR",
        "INVALID_PRICE",
        "INVALID_QUANTITY",
        "INVALID_AMOUNT",
        "QUANTITY_BELOW_MIN",
        "QUANTITY_ABOVE_MAX",
        "NOTIONAL_BELOW_MIN",
        "PRICE_REQUIRED",
        "PRICE_NOT_ALLOWED",
        "INVALID_ORDER_TYPE",
    }
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, **({"detail": self.detail} if self.detail else {})}


def _failures(name: str, bad: list[Any], **extra: Any) -> Check:
    detail = {"count": len(bad), "examples": bad[:SHOWN], **extra} if bad else extra
    return Check(name, not bad, detail)


def conservation(s: Snapshot, world: World) -> Check:
    totals: Counter[str] = Counter()
    for _, asset, available, held in s.balances:
        totals[asset] += available + held
    bad = [
        {"asset": a, "balances": totals[a], "deposits_minus_withdrawals": s.transfers.get(a, 0)}
        for a in sorted(set(totals) | set(s.transfers))
        if totals[a] != s.transfers.get(a, 0)
    ]
    bad += [
        {"asset": a, "soak_deposited": n, "transfers_of_soak_accounts": s.soak_transfers.get(a, 0)}
        for a, n in sorted(world.deposits.items())
        if s.soak_transfers.get(a, 0) != n
    ]
    return _failures("conservation", bad, totals=dict(totals))


def no_negative_balance(s: Snapshot) -> Check:
    bad = [f"{a}/{asset}: {v}/{h}" for a, asset, v, h in s.balances if v < 0 or h < 0]
    return _failures("no_negative_balance", bad)


def held_equals_active_holds(s: Snapshot) -> Check:
    holds: Counter[tuple[str, str]] = Counter()
    for _, account, asset, remaining, status in s.holds:
        if status == "ACTIVE":
            holds[(account, asset)] += remaining
    held = {(a, asset): h for a, asset, _, h in s.balances}
    bad = [
        f"{a}/{asset}: held {held.get((a, asset), 0)} != active holds {holds[(a, asset)]}"
        for a, asset in sorted(set(holds) | set(held))
        if held.get((a, asset), 0) != holds[(a, asset)]
    ]
    return _failures("held_equals_active_holds", bad)


def no_active_hold_on_finished_order(s: Snapshot, world: World) -> Check:
    bad = []
    for order_id, account, asset, remaining, status in s.holds:
        if status != "ACTIVE":
            continue
        order = s.orders.get(order_id)
        if order is None or order.get("status") in TERMINAL:
            state = "no Orders item" if order is None else order.get("status")
            bad.append(f"{order_id} ({account}, {remaining} {asset}): order {state}")
    return _failures("no_active_hold_on_finished_order", bad)


def resting_orders_covered_by_holds(s: Snapshot, world: World) -> Check:
    """Every resting order can still pay for what it may execute: its ACTIVE hold's remaining
    covers the remaining quantity (sell: base atoms; buy: at its limit price plus the taker fee).
    Fees are rounded up per fill, so a buy may be short by at most one atom per fill so far."""
    holds = {
        order_id: (asset, remaining)
        for order_id, _, asset, remaining, status in s.holds
        if status == "ACTIVE"
    }
    fills: Counter[str] = Counter()
    for trade in s.trades.values():
        fills[trade["maker_order_id"]] += 1
        fills[trade["taker_order_id"]] += 1
    bad = []
    for order_id, item in s.orders.items():
        if item.get("status") not in RESTING:
            continue
        instrument = world.instruments[str(item["symbol"])]
        left = int(item.get("remaining_quantity", 0))
        if item["side"] == "SELL":
            asset, need, slack = instrument.base_asset, instrument.base_atoms(left), 0
        else:
            notional = instrument.notional_atoms(int(item["price"]), left)
            asset, slack = instrument.quote_asset, fills[order_id]
            need = notional + instrument.fee_atoms(notional, instrument.taker_fee_bps)
        held_asset, held = holds.get(order_id, (asset, 0))
        if held_asset != asset or held + slack < need:
            order = f"{order_id} ({item['side']} {left} left @ {item.get('price')})"
            bad.append(f"{order}: needs {need} {asset}, hold {held}")
    return _failures("resting_orders_covered_by_holds", bad)


def no_pending_order(s: Snapshot) -> Check:
    return _failures(
        "no_pending_order", [o for o, item in s.orders.items() if item.get("status") == "PENDING"]
    )


def filled_equals_settled_fills(s: Snapshot) -> Check:
    fills: Counter[str] = Counter()
    for trade in s.trades.values():
        fills[trade["maker_order_id"]] += int(trade["quantity"])
        fills[trade["taker_order_id"]] += int(trade["quantity"])
    bad = [
        f"{o}: filled {int(item.get('filled_quantity', 0))} != settled {fills[o]} ({item.get('status')})"
        for o, item in s.orders.items()
        if int(item.get("filled_quantity", 0)) != fills[o]
    ]
    bad += [f"{o}: settled {n} but no Orders item" for o, n in fills.items() if o not in s.orders]
    return _failures("filled_equals_settled_fills", bad)


_TRADE_FIELDS = ("symbol", "seq", "price", "quantity", "taker_side", "maker_order_id", "taker_order_id")


def trades_settled_exactly_once(s: Snapshot) -> Check:
    committed: dict[str, dict[str, Any]] = {}
    bad: list[str] = []
    for event in s.events:
        if event["type"] != "TradeExecuted":
            continue
        detail = event["detail"]
        previous = committed.setdefault(detail["trade_id"], detail)
        if previous != detail:
            bad.append(f"{detail['trade_id']}: published twice with different details")
    bad += [f"{t}: committed, not settled" for t in sorted(set(committed) - set(s.trades))]
    bad += [f"{t}: settled, never committed" for t in sorted(set(s.trades) - set(committed))]
    for trade_id in sorted(set(committed) & set(s.trades)):
        event, row = committed[trade_id], s.trades[trade_id]
        differs = [f for f in _TRADE_FIELDS if str(event.get(f)) != str(row.get(f))]
        if differs:
            bad.append(f"{trade_id}: settled row differs in {differs}")
    dlq = s.queues.get("SettlementDeadLetterQueue", 0)
    if dlq:
        bad.append(f"settlement DLQ holds {dlq} message(s)")
    return _failures("trades_settled_exactly_once", bad, committed=len(committed), settled=len(s.trades))


def book_equals_open_orders(s: Snapshot) -> Check:
    expected: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)
    for item in s.orders.values():
        if item.get("status") in RESTING:
            expected[str(item["symbol"])][(str(item["side"]), int(item["price"]))] += int(
                item.get("remaining_quantity", 0)
            )
    bad = []
    for symbol, levels in s.levels.items():
        actual = {k: q for k, q in levels.items() if q}
        want = {k: q for k, q in expected[symbol].items() if q}
        for key in sorted(set(actual) | set(want)):
            if actual.get(key, 0) != want.get(key, 0):
                level, orders = actual.get(key, 0), want.get(key, 0)
                bad.append(f"{symbol} {key[0]} {key[1]}: level {level} != open orders {orders}")
    return _failures("book_equals_open_orders", bad)


def book_not_crossed(s: Snapshot) -> Check:
    bad = []
    for symbol, levels in s.levels.items():
        bids = [p for (side, p), q in levels.items() if side == "BUY" and q > 0]
        asks = [p for (side, p), q in levels.items() if side == "SELL" and q > 0]
        if bids and asks and max(bids) >= min(asks):
            bad.append(f"{symbol}: best bid {max(bids)} >= best ask {min(asks)}")
    return _failures("book_not_crossed", bad)


def sequence_gap_free(s: Snapshot) -> Check:
    by_symbol: dict[str, dict[int, Any]] = defaultdict(dict)
    bad = []
    for event in s.events:
        detail = event["detail"]
        seen = by_symbol[str(detail["symbol"])].setdefault(int(detail["seq"]), detail)
        if seen != detail:
            bad.append(f"{detail['symbol']}#{detail['seq']}: two different events")
    bad += [
        f"{symbol}: events published but no checkpoint"
        for symbol in sorted(set(by_symbol) - set(s.checkpoints))
    ]
    for symbol, checkpoint in sorted(s.checkpoints.items()):
        seqs = set(by_symbol[symbol])
        missing = sorted(set(range(1, checkpoint + 1)) - seqs)
        beyond = sorted(q for q in seqs if q > checkpoint or q < 1)
        if missing:
            bad.append(f"{symbol}: {len(missing)} seq(s) missing of 1..{checkpoint}, first {missing[:SHOWN]}")
        if beyond:
            bad.append(f"{symbol}: seq(s) outside 1..{checkpoint}: {beyond[:SHOWN]}")
    return _failures("sequence_gap_free", bad, checkpoints=dict(s.checkpoints))


def one_order_per_client_order_id(s: Snapshot, recorder: Recorder) -> Check:
    items: dict[tuple[str, str], list[str]] = defaultdict(list)
    for order_id, item in s.orders.items():
        if item.get("client_order_id"):
            items[(str(item["account_id"]), str(item["client_order_id"]))].append(order_id)
    bad = [f"{k[0]}/{k[1]}: orders {v}" for k, v in items.items() if len(v) > 1]
    bad += [
        f"{k[0]}/{k[1]}: answered with {sorted(v)}" for k, v in recorder.coid_answers.items() if len(v) > 1
    ]
    return _failures("one_order_per_client_order_id", bad, client_order_ids=len(items))


def orders_belong_to_their_caller(s: Snapshot, recorder: Recorder) -> Check:
    """Every order the API answered 201 for exists in ``Orders`` under the account that sent it."""
    bad = []
    for order_id, placed in recorder.orders.items():
        item = s.orders.get(order_id)
        if item is None:
            bad.append(f"{order_id} ({placed.account_id}, {placed.scenario}): answered 201, no Orders item")
        elif item.get("account_id") != placed.account_id:
            bad.append(f"{order_id}: placed by {placed.account_id}, Orders says {item.get('account_id')}")
    return _failures("orders_belong_to_their_caller", bad, placed=len(recorder.orders))


def no_self_trade(s: Snapshot) -> Check:
    bad = [t for t, row in s.trades.items() if row["maker_account_id"] == row["taker_account_id"]]
    return _failures("no_self_trade", bad)


def intake_engine_rules_agree(s: Snapshot) -> Check:
    bad = [
        f"{o}: accepted by intake, engine rejected {item.get('reject_code')}"
        f" ({item.get('order_type')} {item.get('time_in_force')} post_only={item.get('post_only')})"
        for o, item in s.orders.items()
        if item.get("status") == "REJECTED" and item.get("reject_code") in BOOK_INDEPENDENT_CODES
    ]
    return _failures("intake_engine_rules_agree", bad)


def api_answers(recorder: Recorder) -> Check:
    bad = list(recorder.unexpected) + recorder.server_errors + recorder.transport_errors
    return _failures("api_answers_as_expected", bad, expectations=dict(recorder.expectations))


def queues_drained(s: Snapshot) -> Check:
    bad = [f"{q}: {n}" for q, n in sorted(s.queues.items()) if n]
    if s.outbox_items:
        bad.append(f"OrderBooks: {s.outbox_items} outbox item(s)")
    if s.running_executions:
        bad.append(f"settlement: {s.running_executions} execution(s) running")
    return _failures("queues_drained", bad)


def workload_exercised(s: Snapshot, world: World, recorder: Recorder) -> Check:
    """A soak that never trades proves nothing: the run must have filled, partly filled, canceled
    and amended orders on both symbols, and amended at least one order after a partial fill."""
    soak = [o for o in s.orders.values() if o.get("account_id") in world.accounts]
    statuses = Counter(str(o.get("status")) for o in soak)
    traded = {str(t["symbol"]) for t in s.trades.values()}
    missing = [f"no {status} order" for status in ("FILLED", "CANCELED") if not statuses[status]]
    missing += [f"no trade on {symbol}" for symbol in sorted(set(s.levels) - traded)]
    if not any(int(o.get("filled_quantity", 0)) for o in soak if o.get("status") != "FILLED"):
        missing.append("no partial fill")
    if recorder.amends_after_partial_fill == 0:
        missing.append("no amend after a partial fill")
    return _failures("workload_exercised", missing, statuses=dict(statuses))


def all_checks(s: Snapshot, world: World, recorder: Recorder) -> list[Check]:
    return [
        conservation(s, world),
        no_negative_balance(s),
        held_equals_active_holds(s),
        no_active_hold_on_finished_order(s, world),
        resting_orders_covered_by_holds(s, world),
        no_pending_order(s),
        filled_equals_settled_fills(s),
        trades_settled_exactly_once(s),
        book_equals_open_orders(s),
        book_not_crossed(s),
        sequence_gap_free(s),
        one_order_per_client_order_id(s, recorder),
        orders_belong_to_their_caller(s, recorder),
        no_self_trade(s),
        intake_engine_rules_agree(s),
        api_answers(recorder),
        queues_drained(s),
        workload_exercised(s, world, recorder),
    ]


# What reconciliation is meant to prove (docs/ledger.md, issue 12): it must fail exactly when one
# of these fails. (The workload's own checks and the book/sequence checks are not its business.)
RECONCILED = frozenset(
    {
        "quiescence",
        "conservation",
        "no_negative_balance",
        "held_equals_active_holds",
        "no_active_hold_on_finished_order",
        "resting_orders_covered_by_holds",
        "no_pending_order",
        "filled_equals_settled_fills",
        "trades_settled_exactly_once",
        "queues_drained",
    }
)


def matcher_exits_only_when_killed(faults: dict[str, Any]) -> Check:
    restarts, kills = int(faults["matcher_restarts"]), int(faults["SIGKILL"])
    ok = restarts == kills
    return Check("matcher_exits_only_when_killed", ok, {} if ok else {"restarts": restarts, "kills": kills})


def reconciliation(report: dict[str, Any], others: list[Check]) -> list[Check]:
    """The project's reconciliation must say ok, and say so exactly when the checks it covers hold."""
    mismatches = report.get("mismatches") or []
    kinds = sorted(Counter(str(m.get("check", m.get("kind", "?"))) for m in mismatches).items())
    ok = report.get("ok") is True
    failing = [c.name for c in others if not c.ok and c.name in RECONCILED]
    return [
        Check(
            "reconciliation_ok",
            ok,
            {}
            if ok
            else {
                "mismatches": len(mismatches),
                "kinds": dict(kinds),
                "examples": mismatches[:SHOWN],
                **({"error": report["error"]} if "error" in report else {}),
            },
        ),
        Check(
            "reconciliation_agrees",
            ok == (not failing),
            {} if ok == (not failing) else {"reconciliation_ok": ok, "failing_checks": failing},
        ),
    ]
