"""One soak run against a started :class:`~localcloud.runtime.LocalRuntime`: accounts, workload
with faults, quiescence, snapshot, checks, reconciliation, summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.runtime import LocalRuntime

from bench.soak import checks, faults, quiesce, snapshot, summary
from bench.soak.workload import Recorder, run_workers
from bench.soak.world import build_world


@dataclass(frozen=True)
class SoakConfig:
    seed: int = 1
    requests: int = 1500
    kills: int = 2
    stops: int = 1
    accounts: int = 10
    workers: int = 4
    stop_s: float = 3.0
    quiesce_timeout_s: float = 600.0


def reconcile(runtime: LocalRuntime) -> dict[str, Any]:
    """The project's reconciliation, the deployed function (whatever it checks at the time), with
    no grace period: after quiescence nothing may still be on its way (docs/ledger.md)."""
    try:
        report = runtime.invoke("ReconcileFunction", {"grace_seconds": 0})
    except Exception as exc:  # a reconciliation that cannot run is a failed check, not a crash
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return report if isinstance(report, dict) else {"ok": False, "error": f"answered {report!r}"[:500]}


def run_soak(runtime: LocalRuntime, config: SoakConfig) -> dict[str, Any]:
    world = build_world(runtime, config.seed, config.accounts)
    recorder = Recorder(budget=config.requests)
    injector = faults.FaultInjector(
        runtime, recorder, faults.plan(config.kills, config.stops, config.requests), config.stop_s
    )
    injector.start()
    try:
        workload_s = run_workers(world, recorder, config.seed, config.workers)
    finally:
        injector.finish()
    quiescence = quiesce.wait(world, timeout_s=config.quiesce_timeout_s)
    state = snapshot.take(world)
    world.close()
    found = checks.all_checks(state, world, recorder)
    found.insert(0, checks.Check("quiescence", quiescence.drained, {"reason": quiescence.reason}))
    found.append(checks.matcher_exits_only_when_killed(injector.summary()))
    found += checks.reconciliation(reconcile(runtime), found)
    return summary.build(
        seed=config.seed,
        world=world,
        recorder=recorder,
        snapshot=state,
        faults=injector.summary(),
        quiescence=quiescence,
        checks=found,
        workload_s=workload_s,
    )
