"""EventBridge side: PutEvents of outbox records, at most 10 entries per call, failed entries retried."""

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from matcher_service.model import EventRecord

log = logging.getLogger(__name__)

SOURCE = "trading.matcher"
MAX_ENTRIES = 10


class PublishError(Exception):
    """Some entries could not be published after the retries; the outbox keeps them."""


class EventPublisher:
    def __init__(self, client: Any, bus_name: str, attempts: int = 5) -> None:
        self._events = client
        self._bus = bus_name
        self._attempts = attempts
        self.published = 0
        self.calls = 0

    def _entry(self, record: EventRecord) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": record.detail_type,
            "Detail": json.dumps(record.detail, separators=(",", ":")),
            "EventBusName": self._bus,
        }

    def publish(self, records: Sequence[EventRecord]) -> None:
        ordered = sorted(records, key=lambda r: r.seq)
        for start in range(0, len(ordered), MAX_ENTRIES):
            entries = [self._entry(r) for r in ordered[start : start + MAX_ENTRIES]]
            for attempt in range(self._attempts):
                self.calls += 1
                response = self._events.put_events(Entries=entries)
                if not response.get("FailedEntryCount"):
                    self.published += len(entries)
                    break
                results = response.get("Entries", [])
                failed = [e for e, r in zip(entries, results, strict=False) if r.get("ErrorCode")]
                self.published += len(entries) - len(failed)
                log.warning(
                    "PutEvents: %d of %d entries failed (attempt %d)", len(failed), len(entries), attempt + 1
                )
                entries = failed
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise PublishError(f"{len(entries)} events not published")
