"""Counters and batch timings behind ``GET /metrics`` (thread-safe: the HTTP thread reads them)."""

import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW = 1000  # batch durations kept for the percentiles


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))  # nearest-rank definition
    return ordered[min(len(ordered), max(rank, 1)) - 1]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._durations: deque[float] = deque(maxlen=WINDOW)
        self.state = "starting"
        self.batches = 0
        self.last_batch_size = 0
        self.commands_processed = 0
        self.commands_skipped = 0
        self.events_published = 0
        self.commits = 0
        self.commits_rejected = 0
        self.recoveries = 0
        self.oldest_message_age_ms = 0
        self.queue_stats: Callable[[], dict[str, int]] | None = None

    def batch_done(self, size: int, processed: int, skipped: int, seconds: float, oldest_age_ms: int) -> None:
        with self._lock:
            self.batches += 1
            self.last_batch_size = size
            self.commands_processed += processed
            self.commands_skipped += skipped
            self.oldest_message_age_ms = oldest_age_ms
            self._durations.append(seconds * 1000.0)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            durations = list(self._durations)
            body: dict[str, Any] = {
                "state": self.state,
                "batches": self.batches,
                "last_batch_size": self.last_batch_size,
                "commands_processed": self.commands_processed,
                "commands_skipped": self.commands_skipped,
                "events_published": self.events_published,
                "commits": self.commits,
                "commits_rejected": self.commits_rejected,
                "recoveries": self.recoveries,
                "batch_ms_p50": round(percentile(durations, 0.50), 3),
                "batch_ms_p99": round(percentile(durations, 0.99), 3),
                "oldest_message_age_ms": self.oldest_message_age_ms,
            }
        if self.queue_stats is not None:
            try:
                body.update(self.queue_stats())
            except Exception as exc:
                body["queue_error"] = str(exc)
        return body
