"""What a key's usage plan does by default (docs/api.md, "Rate limits"): 10 requests/s steady,
burst 20, per key; a refused request is 429 RATE_LIMITED with Retry-After (locally)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from orders_support import new_trader, runtime_for, start_own_runtime

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


def test_a_burst_past_the_plan_is_429_per_key_and_passes_again_after_retry_after(runtime: Any) -> None:
    # Given two fresh keys on the default (standard) plan
    busy, other = new_trader(runtime), new_trader(runtime)
    # When one sends 60 signed requests back to back
    answers = [busy.client.balances() for _ in range(60)]
    statuses = [a.status_code for a in answers]
    # Then the burst of 20 passes and later ones are refused with 429 RATE_LIMITED and Retry-After
    assert statuses[:20] == [200] * 20
    refused = [a for a in answers if a.status_code == 429]
    assert refused, statuses
    assert refused[0].json() == {"code": "RATE_LIMITED", "message": "too many requests"}
    wait = int(refused[0].headers["Retry-After"])
    assert wait >= 1
    # And the other key is not affected (the limit is per key)
    assert other.client.balances().status_code == 200
    # And after Retry-After the busy key is served again
    time.sleep(wait)
    assert busy.client.balances().status_code == 200
