"""Faults e2e tests stage on purpose in the session's one runtime, which reconciliation rightly
flags from then on: ``test_settlement_workflow`` publishes ``TradeExecuted`` events itself, so the
ledger settles fills of ``buy-*``/``sell-*`` orders the matcher never had (``filled_quantity``,
expected 0) and holds funds for orders that never reach ``Orders`` (``terminal_hold`` once
past the grace, at once without one), and parks one unsettleable trade in the settlement DLQ
(``settlement_dlq``, 1).

A reconciliation assertion in the shared runtime allows exactly these and nothing else."""

from __future__ import annotations

from typing import Any


def staged_around_the_matcher(mismatch: dict[str, Any]) -> bool:
    """A mismatch ``test_settlement_workflow`` causes on purpose (see the module docstring)."""
    staged_order = mismatch["key"].startswith(("buy-", "sell-"))
    if mismatch["check"] == "filled_quantity":
        return bool(staged_order and mismatch["expected"] == 0)
    if mismatch["check"] == "terminal_hold":
        return bool(staged_order and "Orders does not have" in mismatch["detail"])
    return bool(mismatch["check"] == "settlement_dlq" and mismatch["actual"] == 1)


def unexpected(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's mismatches that no e2e test staged."""
    return [m for m in report["mismatches"] if not staged_around_the_matcher(m)]
