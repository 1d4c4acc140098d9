"""Token buckets for API Gateway usage-plan throttling (steady rate + burst)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from localcloud.app_model import Throttle


class TokenBucket:
    def __init__(self, throttle: Throttle, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = throttle.rate
        self.capacity = max(1, throttle.burst)
        self._tokens = float(self.capacity)
        self._clock = clock
        self._updated = clock()

    def take(self) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate if self.rate > 0 else math.inf


class Throttler:
    """One bucket per (client, throttle scope); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def check(self, client: str, scope: str, throttle: Throttle) -> float:
        with self._lock:
            bucket = self._buckets.get((client, scope))
            if bucket is None:
                bucket = self._buckets[(client, scope)] = TokenBucket(throttle, self._clock)
            return bucket.take()
