"""The one-line JSON summary of a soak run."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.soak.checks import Check
from bench.soak.quiesce import Quiescence
from bench.soak.snapshot import Snapshot
from bench.soak.workload import Recorder
from bench.soak.world import World


def build(
    *,
    seed: int,
    world: World,
    recorder: Recorder,
    snapshot: Snapshot,
    faults: dict[str, Any],
    quiescence: Quiescence,
    checks: list[Check],
    workload_s: float,
) -> dict[str, Any]:
    soak_orders = [o for o in snapshot.orders.values() if o.get("account_id") in world.accounts]
    statuses = Counter(str(o.get("status")) for o in soak_orders)
    matcher_rejections = Counter(
        str(e["detail"].get("code")) for e in snapshot.events if e["type"] == "OrderRejected"
    )
    rejects = Counter(str(o.get("reject_code")) for o in soak_orders if o.get("status") == "REJECTED")
    return {
        "soak": "bench.soak",
        "ok": all(c.ok for c in checks),
        "seed": seed,
        "accounts": len(world.traders),
        "requests": recorder.requests,
        "throttled": recorder.throttled,
        "orders": len(soak_orders),
        "order_statuses": dict(sorted(statuses.items())),
        "reject_codes": dict(sorted(rejects.items())),
        "matcher_rejections": dict(sorted(matcher_rejections.items())),  # orders and amends
        "trades": len(snapshot.trades),
        "events": len(snapshot.events),
        "amends_after_partial_fill": recorder.amends_after_partial_fill,
        "amends_racing_fills": recorder.amends_racing_fills,
        "scenarios": dict(sorted(recorder.scenarios.items())),
        "answers": dict(sorted(recorder.answers.items())),
        "faults": faults,
        "workload_s": round(workload_s, 1),
        "quiescence_s": quiescence.seconds,
        "quiescence": quiescence.reason,
        "checks": {c.name: c.to_dict() for c in checks},
        "failed": [c.name for c in checks if not c.ok],
    }
