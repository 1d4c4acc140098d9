"""PutEvents batching and retries of failed entries, against an in-memory EventBridge fake."""

from __future__ import annotations

import json

import pytest
from matcher_service.model import EventRecord
from matcher_service.publisher import EventPublisher, PublishError


class FakeEventBridge:
    """Accepts entries like PutEvents; the first ``failures`` attempts of chosen seqs fail."""

    def __init__(self, failing: dict[int, int] | None = None) -> None:
        self.failing = dict(failing or {})
        self.calls: list[list[dict]] = []
        self.delivered: list[dict] = []

    def put_events(self, Entries: list[dict]) -> dict:  # noqa: N803 - boto3's parameter name
        assert len(Entries) <= 10
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            seq = json.loads(entry["Detail"])["seq"]
            if self.failing.get(seq, 0) > 0:
                self.failing[seq] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.delivered.append(entry)
                results.append({"EventId": str(seq)})
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


def records(count: int) -> list[EventRecord]:
    return [
        EventRecord("BookUpdated", {"symbol": "BTC-USD", "seq": n, "changes": []})
        for n in range(count, 0, -1)
    ]


def test_entries_go_out_in_seq_order_ten_per_call_on_the_bus():
    bus = FakeEventBridge()
    EventPublisher(bus, "the-bus").publish(records(23))
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    assert [json.loads(e["Detail"])["seq"] for e in bus.delivered] == list(range(1, 24))
    assert {(e["Source"], e["EventBusName"]) for e in bus.delivered} == {("trading.matcher", "the-bus")}


def test_only_the_failed_entries_are_retried():
    bus = FakeEventBridge(failing={3: 2})
    publisher = EventPublisher(bus, "b")
    publisher.publish(records(5))
    assert sorted(json.loads(e["Detail"])["seq"] for e in bus.delivered) == [1, 2, 3, 4, 5]
    assert [len(call) for call in bus.calls] == [5, 1, 1]
    assert publisher.published == 5


def test_an_entry_that_keeps_failing_raises_so_the_outbox_is_kept():
    bus = FakeEventBridge(failing={2: 99})
    with pytest.raises(PublishError):
        EventPublisher(bus, "b", attempts=3).publish(records(3))
