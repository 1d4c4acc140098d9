"""The reconcile Lambda in-process: its metrics per check, ``ReconciliationOk``, and an operator's
``grace_seconds`` override, on a real database with in-memory fakes of the matcher's records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from settlement_support import Context, Funded, emf_metrics, event, load_function
from trading.ledger.crosscheck import CROSS_CHECKS, IndependentRecords
from trading.ledger.reconcile import LEDGER_CHECKS


class FakeOrders:
    """``Orders`` as a dict: the port's contract (missing ids are absent)."""

    def __init__(self, items: dict[str, dict[str, Any]] | None = None) -> None:
        self.items = items or {}
        self.asked: list[str] = []

    def get_many(self, order_ids: Any) -> dict[str, dict[str, Any]]:
        self.asked.extend(order_ids)
        return {i: self.items[i] for i in order_ids if i in self.items}


class FakeQueue:
    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def count(self) -> int:
        return self.depth


class FakeEvents:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def per_check(stdout: str) -> dict[str, float]:
    """``ReconciliationCheckMismatches`` by its ``check`` dimension."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and "ReconciliationCheckMismatches" in line:
            blob = json.loads(line)
            assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["check", "service"]]
            found[blob["check"]] = sum(blob["ReconciliationCheckMismatches"])
    return found


@pytest.fixture(autouse=True)
def reconcile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from trading.ledger import wiring

    monkeypatch.setenv("EVENT_BUS_NAME", "trading-test")
    wiring.settings.cache_clear()
    wiring.reconcile_settings.cache_clear()


def invoke(
    funded: Funded, payload: dict[str, Any], orders: FakeOrders, dlq: FakeQueue, bus: FakeEvents
) -> Any:
    app = load_function("reconcile")
    records = IndependentRecords(orders=orders, settlement_dlq=dlq)
    return app.handler(
        payload, Context(), connect=funded.borrow, events_client=lambda: bus, records=lambda: records
    )


def test_a_clean_run_reports_ok_and_a_zero_for_every_check(
    funded: Funded, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given funded accounts whose holds are minutes old, nothing parked
    orders, bus = FakeOrders(), FakeEvents()
    # When the schedule runs reconcile
    result = invoke(funded, event("reconcile/scheduled.json"), orders, FakeQueue(), bus)
    # Then it is ok, examined the six held orders, and says so in every metric
    out = capsys.readouterr().out
    assert result["ok"] is True and result["examined"]["orders"] == 6
    assert sorted(orders.asked) == sorted(f"ord-{s}-{n}" for s in ("buy", "sell") for n in (1, 2, 3))
    assert emf_metrics(out)["ReconciliationOk"] == 1
    assert emf_metrics(out)["ReconciliationMismatches"] == 0
    assert emf_metrics(out)["ReconciliationOrdersExamined"] == 6
    assert per_check(out) == dict.fromkeys([*LEDGER_CHECKS, *CROSS_CHECKS], 0)
    assert bus.entries == []


def test_a_parked_settlement_fails_the_run_with_its_check_counted_and_published(
    funded: Funded, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two messages in the settlement DLQ
    bus = FakeEvents()
    # When reconcile runs
    result = invoke(funded, event("reconcile/scheduled.json"), FakeOrders(), FakeQueue(depth=2), bus)
    # Then the run is not ok, the DLQ check counts one mismatch, and the event names the check
    out = capsys.readouterr().out
    assert result["ok"] is False
    assert [(m["check"], m["actual"]) for m in result["mismatches"]] == [("settlement_dlq", 2)]
    assert emf_metrics(out)["ReconciliationOk"] == 0
    assert per_check(out)["settlement_dlq"] == 1 and per_check(out)["held"] == 0
    (entry,) = bus.entries
    assert json.loads(entry["Detail"])["checks"] == ["settlement_dlq"]


def test_an_operator_can_look_without_the_grace(funded: Funded) -> None:
    # Given the six fresh holds, whose orders never reached Orders (the fakes have none)
    # When an operator invokes reconcile with no grace, and with a negative one
    result = invoke(funded, {"grace_seconds": 0}, FakeOrders(), FakeQueue(), FakeEvents())
    with pytest.raises(ValueError, match="grace_seconds"):
        invoke(funded, {"grace_seconds": -1}, FakeOrders(), FakeQueue(), FakeEvents())
    # Then the holds nobody will release are flagged at once
    assert {(m["check"], m["key"]) for m in result["mismatches"]} == {
        ("terminal_hold", f"ord-{s}-{n}") for s in ("buy", "sell") for n in (1, 2, 3)
    }
