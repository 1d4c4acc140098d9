"""The request loop: worker threads run seeded scenarios until the request budget is spent, and a
:class:`Recorder` keeps what the checks need (every answer, every order id, every expectation)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.soak.world import Trader, World

MAX_THROTTLE_RETRIES = 20


@dataclass(frozen=True)
class Placed:
    order_id: str
    account_id: str
    symbol: str
    side: str
    scenario: str
    client_order_id: str | None


@dataclass
class Recorder:
    """Thread-safe record of the workload (one per run)."""

    budget: int
    requests: int = 0
    scenarios: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # "<route> <status>[ <code>]"
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    throttled: int = 0
    orders: dict[str, Placed] = field(default_factory=dict)
    coid_answers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    expectations: Counter[str] = field(default_factory=Counter)  # "<what> ok|failed"
    unexpected: list[str] = field(default_factory=list)
    amends_after_partial_fill: int = 0
    amends_racing_fills: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, scenario: str) -> bool:
        """Start a scenario unless the budget is spent."""
        with self.lock:
            if self.requests >= self.budget:
                return False
            self.scenarios[scenario] += 1
            return True

    def progress(self) -> int:
        with self.lock:
            return self.requests

    def placed(self, placed: Placed) -> None:
        with self.lock:
            self.orders.setdefault(placed.order_id, placed)
            if placed.client_order_id is not None:
                key = (placed.account_id, placed.client_order_id)
                self.coid_answers.setdefault(key, set()).add(placed.order_id)

    def own_orders(self, account_id: str) -> list[str]:
        with self.lock:
            return [o.order_id for o in self.orders.values() if o.account_id == account_id]

    def expect(self, what: str, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.expectations[f"{what} {'ok' if ok else 'failed'}"] += 1
            if not ok and len(self.unexpected) < 50:
                self.unexpected.append(f"{what}: {detail}")

    def send(self, route: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        """One API call; 429 answers are retried after their Retry-After (each try is a request)."""
        for _ in range(MAX_THROTTLE_RETRIES):
            with self.lock:
                self.requests += 1
            try:
                response = call()
            except httpx.HTTPError as exc:
                with self.lock:
                    self.transport_errors.append(f"{route}: {type(exc).__name__}: {exc}"[:300])
                return None
            code = error_code(response)
            with self.lock:
                self.answers[f"{route} {response.status_code}{' ' + code if code else ''}"] += 1
                if response.status_code == 429:
                    self.throttled += 1
                elif response.status_code >= 500 and len(self.server_errors) < 50:
                    self.server_errors.append(f"{route} {response.status_code}: {response.text[:300]}")
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After") or 0.5))
        return None


def error_code(response: httpx.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def body(response: httpx.Response | None) -> dict[str, Any]:
    if response is None or not response.content:
        return {}
    try:
        value = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Worker:
    """One thread's view: its own seeded generator and accounts (at least two, for counterparties)."""

    index: int
    rng: random.Random
    world: World
    recorder: Recorder
    traders: list[Trader]

    def other(self, trader: Trader) -> Trader:
        return self.rng.choice([t for t in self.traders if t is not trader])


def run_workers(world: World, recorder: Recorder, seed: int, workers: int) -> float:
    """Run the scenarios on ``workers`` threads until the budget is spent; the wall time in s."""
    from bench.soak.scenarios import pick_and_run  # noqa: PLC0415 - scenarios import this module

    groups: list[list[Trader]] = [[] for _ in range(workers)]
    for i, trader in enumerate(world.traders):
        groups[i % workers].append(trader)
    if any(len(group) < 2 for group in groups):
        raise ValueError("every worker needs at least two accounts: raise --accounts or lower --workers")
    errors: list[BaseException] = []

    def loop(worker: Worker) -> None:
        try:
            while pick_and_run(worker):
                pass
        except BaseException as exc:  # reported by the caller, never swallowed
            errors.append(exc)

    started = time.monotonic()
    threads = [
        threading.Thread(
            target=loop,
            args=(Worker(i, random.Random(f"{seed}:{i}"), world, recorder, groups[i]),),
            name=f"soak-worker-{i}",
        )
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.monotonic() - started
