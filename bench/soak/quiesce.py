"""Waiting until nothing moves: the command and notification queues empty, no settlement
execution running, no outbox item left, and the stores unchanged for a while.

Quiescent (``drained``) also needs every committed trade settled and no order PENDING; a state
that stays unchanged for ``give_up_s`` without that is reported as not drained (the checks then
name what is stuck) instead of being waited on forever."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench.soak import snapshot
from bench.soak.world import World

POLL_S = 1.0


@dataclass
class Quiescence:
    drained: bool
    seconds: float
    reason: str


def _pending_orders(world: World) -> int:
    table = world.table("OrdersTable")
    kwargs: dict[str, Any] = {
        "FilterExpression": "#s = :p",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":p": "PENDING"},
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    count = 0
    while True:
        page = table.scan(**kwargs)
        count += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _outbox_items(world: World) -> int:
    table = world.table("OrderBooksTable")
    count = 0
    for symbol in world.instruments:
        page = table.query(
            KeyConditionExpression="#sym = :s AND begins_with(sk, :o)",
            ExpressionAttributeNames={"#sym": "symbol"},
            ExpressionAttributeValues={":s": symbol, ":o": "outbox#"},
            Select="COUNT",
            ConsistentRead=True,
        )
        count += int(page.get("Count", 0))
    return count


def _ledger(world: World) -> tuple[set[str], tuple[int, ...]]:
    with world.pg().cursor() as cur:
        cur.execute("SELECT trade_id FROM trades")
        trades = {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT (SELECT coalesce(sum(held), 0) FROM balances),"
            " (SELECT count(*) FROM holds WHERE status = 'ACTIVE'),"
            " (SELECT coalesce(max(entry_id), 0) FROM ledger_entries),"
            " (SELECT count(*) FROM order_history)"
        )
        row = cur.fetchone()
        return trades, tuple(int(v) for v in row or ())


def wait(
    world: World, stable_s: float = 5.0, give_up_s: float = 45.0, timeout_s: float = 600.0
) -> Quiescence:
    started = time.monotonic()
    last: Any = None
    since = started
    reason = "timeout"
    while time.monotonic() - started < timeout_s:
        depths = snapshot.queue_depths(world)
        busy = {q: n for q, n in depths.items() if n and "DeadLetter" not in q}
        running = snapshot.running_executions(world)
        outbox = _outbox_items(world)
        pending = _pending_orders(world)
        settled, ledger = _ledger(world)
        events = snapshot.published_events(world)
        committed = {e["detail"]["trade_id"] for e in events if e["type"] == "TradeExecuted"}
        state = (tuple(sorted(depths.items())), running, outbox, pending, ledger, len(events), len(settled))
        now = time.monotonic()
        if state != last:
            last, since = state, now
        moving = bool(busy) or running > 0 or outbox > 0
        unchanged = now - since
        if not moving and unchanged >= stable_s and pending == 0 and committed <= settled:
            return Quiescence(True, round(now - started, 1), "drained")
        if not moving and unchanged >= give_up_s:
            reason = f"stuck: {pending} pending, {len(committed - settled)} committed trades unsettled"
            return Quiescence(False, round(now - started, 1), reason)
        time.sleep(POLL_S)
    return Quiescence(False, round(time.monotonic() - started, 1), reason)
