"""Availability under fault drills: a steady order flow through the whole local runtime while the
matcher is killed or paused, PostgreSQL restarted or paused, DynamoDB or SQS throttled
(:mod:`localcloud.faults`, ``python -m localcloud fault``), then the funds-safety soak's invariant
checks (:mod:`bench.soak.checks`) over everything the flow did. Figures: docs/availability.md.

The flow: ``--rate`` limit orders a second (default 10), alternating BTC-USD and ETH-USD, buys and
sells around the mid so about half cross, from 8 funded accounts, each POST on its own thread.
A client does what docs/api.md asks of one: a ``503``/``429`` (or a dropped connection) is retried
after its ``Retry-After`` with the same ``client_order_id``, for up to ``RETRY_FOR_S``. Every
account listens on its private ``orders`` WebSocket channel.

Per drill (each in a window from its start to ``--tail`` seconds after it ends):

* ``longest_gap_s``: the longest time, per symbol, without any order event on the WebSockets (the
  event stream a client sees: matcher -> EventBridge -> notify -> WebSocket), from the drill's
  start; a stall still going on at the window's end lasts until the symbol's next event;
* ``accepted_p99_s`` / ``p50``: first POST -> the order's ``accepted`` event, of the orders first
  POSTed in the window (retries included: what the client waited);
* ``answers``: every HTTP status the flow got in the window; ``server_errors_not_503`` must be 0;
* ``not_accepted``: orders of the window never accepted (gave up, or no event).

After the last drill the runtime is left to quiesce, the hold sweeper runs once (as its schedule
would), and every soak check runs (conservation, holds,
books, sequences, settled exactly once, one order per client order id, reconciliation ...) except
the soak's own workload checks, and ``matcher_exits_only_when_killed`` counts restarts against
kills. Numbers are this machine's with moto: see docs/availability.md for how to read them.

Run: ``python -m bench.availability_bench`` (all drills; ``--drills matcher_kill,dynamodb_throttle``,
``--drill-seconds``, ``--tail``, ``--rate``); prints one JSON document and writes it to
``bench/results/``; exit status 1 when a check or a 5xx other than 503 failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

warnings.filterwarnings("ignore", module="platformdirs")

import httpx  # noqa: E402
import websockets  # noqa: E402
from localcloud import faults  # noqa: E402
from localcloud.runtime import LocalRuntime  # noqa: E402
from trading.auth import sign, ws_string_to_sign  # noqa: E402

from bench.results import environment, write_result  # noqa: E402
from bench.soak import checks, quiesce, snapshot  # noqa: E402
from bench.soak.run import reconcile  # noqa: E402
from bench.soak.workload import Placed, Recorder  # noqa: E402
from bench.soak.world import MID, STEP, Trader, World, build_world  # noqa: E402

_log = logging.getLogger("bench.availability")

SYMBOLS = ("BTC-USD", "ETH-USD")
QUANTITY = {"BTC-USD": "0.0100", "ETH-USD": "0.100"}
RETRY_FOR_S = 60.0  # a client keeps retrying one order this long
MAX_IN_FLIGHT = 64  # orders outstanding at once; past it the flow waits (reported as ``saturated_s``)
ACCOUNTS = 8
# Checks of the soak that are about its own randomized workload, not about the system's state.
_WORKLOAD_CHECKS = {"workload_exercised", "api_answers_as_expected"}


@dataclass(frozen=True)
class Drill:
    name: str
    run: Callable[[Path, float], Any]  # (data dir, seconds) -> blocks for the drill's duration
    kills: int = 0


def _kill(data_dir: Path, seconds: float) -> None:
    faults.kill_matcher(data_dir)
    time.sleep(seconds)  # the window: the supervisor restarts it, recovery, catch-up


def _throttle(service: str) -> Callable[[Path, float], None]:
    def run(data_dir: Path, seconds: float) -> None:
        faults.throttle(data_dir, service, seconds)
        time.sleep(seconds)

    return run


DRILLS: dict[str, Drill] = {
    "baseline": Drill("baseline", lambda d, s: time.sleep(s)),
    "matcher_kill": Drill("matcher_kill", _kill, kills=1),
    "matcher_pause": Drill("matcher_pause", faults.pause_matcher),
    "postgres_restart": Drill("postgres_restart", lambda d, s: faults.restart_postgres(d, s, "fast")),
    "postgres_pause": Drill("postgres_pause", faults.pause_postgres),
    "dynamodb_throttle": Drill("dynamodb_throttle", _throttle("dynamodb")),
    "sqs_throttle": Drill("sqs_throttle", _throttle("sqs")),
}


# -- what the flow records ----------------------------------------------------------------------


@dataclass
class Order:
    symbol: str
    sent: float  # perf_counter of the first POST
    order_id: str | None = None
    statuses: list[int] = field(default_factory=list)


@dataclass
class Flow:
    orders: list[Order] = field(default_factory=list)
    answers: list[tuple[float, int]] = field(default_factory=list)  # (time, HTTP status)
    transport_errors: list[tuple[float, str]] = field(default_factory=list)
    events: list[tuple[float, str, str, str]] = field(default_factory=list)  # (time, symbol, id, event)
    accepted: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _price(symbol: str, side: str, tick: int) -> str:
    offset = (tick % 5 - 2) * STEP[symbol]  # -2..+2 steps: about half the orders cross
    units = MID[symbol] + (offset if side == "BUY" else -offset)
    return f"{units // 100}.{units % 100:02d}"  # integer cents, never a float


def _place(flow: Flow, recorder: Recorder, trader: Trader, order_spec: tuple[str, str, int]) -> None:
    symbol, side, tick = order_spec
    order = Order(symbol, time.perf_counter())
    with flow.lock:
        flow.orders.append(order)
    coid = f"av-{uuid.uuid4().hex[:20]}"
    body = {
        "symbol": symbol,
        "side": side,
        "type": "LIMIT",
        "price": _price(symbol, side, tick),
        "quantity": QUANTITY[symbol],
        "client_order_id": coid,
    }
    while time.perf_counter() - order.sent < RETRY_FOR_S:
        try:
            response = trader.client.place_order(**body)
        except httpx.HTTPError as exc:
            with flow.lock:
                flow.transport_errors.append((time.perf_counter(), f"{type(exc).__name__}: {exc}"[:200]))
            time.sleep(1.0)
            continue
        now = time.perf_counter()
        with flow.lock:
            flow.answers.append((now, response.status_code))
            order.statuses.append(response.status_code)
        if response.status_code == 201:
            order.order_id = str(response.json()["order_id"])
            recorder.placed(Placed(order.order_id, trader.account_id, symbol, side, "availability", coid))
            return
        retryable = response.status_code in (429, 503) or (
            response.status_code == 409 and "in progress" in response.text
        )
        if not retryable:
            return
        time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))


class Listener:
    """Every account's private ``orders`` WebSocket on one asyncio thread."""

    def __init__(self, flow: Flow, urls: list[str]) -> None:
        self.flow = flow
        self.urls = urls
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="availability-ws", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(60) or self.error:
            raise RuntimeError(f"WebSocket subscriptions failed: {self.error!r}")

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported through start()
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        sockets = [await websockets.connect(url, open_timeout=30) for url in self.urls]
        for ws in sockets:
            await ws.send(json.dumps({"action": "subscribe", "channel": "orders", "id": "a"}))
            while not any(m.get("type") == "subscribed" for m in _messages(await ws.recv())):
                pass
        self.ready.set()
        readers = [asyncio.create_task(self._read(ws)) for ws in sockets]
        await self._stop.wait()
        for task in readers:
            task.cancel()
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _read(self, ws: Any) -> None:
        async for frame in ws:
            now = time.perf_counter()
            for message in _messages(frame):
                if message.get("type") != "order":
                    continue
                order_id, event = str(message.get("order_id")), str(message.get("event"))
                with self.flow.lock:
                    self.flow.events.append((now, str(message.get("symbol")), order_id, event))
                    if event == "accepted":
                        self.flow.accepted.setdefault(order_id, now)


def _messages(frame: str | bytes) -> list[dict[str, Any]]:
    decoded = json.loads(frame)
    return decoded if isinstance(decoded, list) else [decoded]


def _ws_url(base: str, trader: Trader) -> str:
    ts = time.time_ns() // 1_000_000
    query = {"key": trader.key_id, "ts": str(ts), "sig": sign(trader.secret, ws_string_to_sign(ts))}
    return f"{base}/?{urlencode(query)}"


class Generator:
    """Submits ``rate`` orders a second until stopped (a bounded pool: a stall queues, never grows)."""

    def __init__(self, world: World, flow: Flow, recorder: Recorder, rate: float) -> None:
        self.world, self.flow, self.recorder, self.rate = world, flow, recorder, rate
        self.pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="availability-post")
        self.slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self.saturated_s = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="availability-flow", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.pool.shutdown(wait=True)

    def _one(self, trader: Trader, order_spec: tuple[str, str, int]) -> None:
        try:
            _place(self.flow, self.recorder, trader, order_spec)
        finally:
            self.slots.release()

    def _run(self) -> None:
        tick = 0
        started = time.perf_counter()
        while not self.stopping.is_set():
            trader = self.world.traders[tick % len(self.world.traders)]
            symbol = SYMBOLS[tick % 2]
            side = "BUY" if (tick // 2) % 2 == 0 else "SELL"
            waited = time.perf_counter()
            while not self.slots.acquire(timeout=0.5):
                if self.stopping.is_set():
                    return
            self.saturated_s += time.perf_counter() - waited
            self.pool.submit(self._one, trader, (symbol, side, tick))
            tick += 1
            delay = started + tick / self.rate - time.perf_counter()
            if delay > 0:
                self.stopping.wait(delay)


# -- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


def window_figures(flow: Flow, start: float, end: float) -> dict[str, Any]:
    with flow.lock:
        events = [e for e in flow.events if start <= e[0] <= end]
        orders = [o for o in flow.orders if start <= o.sent <= end]
        answers = Counter(status for t, status in flow.answers if start <= t <= end)
        transport = sum(1 for t, _ in flow.transport_errors if start <= t <= end)
        accepted = dict(flow.accepted)
        after = {
            s: min((t for t, s2, _, _ in flow.events if s2 == s and t > end), default=None) for s in SYMBOLS
        }
    gaps: dict[str, float] = {}
    for symbol in SYMBOLS:
        # A stall still going on when the window ends lasts until the symbol's next event.
        closing = after[symbol] if after[symbol] is not None else end
        times = [start, *sorted(t for t, s, _, _ in events if s == symbol), closing]
        gaps[symbol] = round(max(b - a for a, b in itertools.pairwise(times)), 3)
    latencies = [accepted[o.order_id] - o.sent for o in orders if o.order_id in accepted]
    return {
        "window_s": round(end - start, 1),
        "orders": len(orders),
        "longest_gap_s": gaps,
        "accepted_p50_s": percentile(latencies, 0.50),
        "accepted_p99_s": percentile(latencies, 0.99),
        "accepted_max_s": percentile(latencies, 1.0),
        "not_accepted": sum(1 for o in orders if o.order_id not in accepted),
        "answers": {str(k): v for k, v in sorted(answers.items())},
        "server_errors_not_503": sum(v for k, v in answers.items() if k >= 500 and k != 503),
        "transport_errors": transport,
    }


def run(
    runtime: LocalRuntime, drills: list[str], drill_s: float, tail_s: float, rate: float
) -> dict[str, Any]:
    data_dir = runtime.data_dir
    faults.install(data_dir)
    world = build_world(runtime, seed=19, accounts=ACCOUNTS)
    flow, recorder = Flow(), Recorder(budget=10**9)
    listener = Listener(flow, [_ws_url(runtime.urls.ws, t) for t in world.traders])
    listener.start()
    supervisor = runtime.matcher
    restarts_before = supervisor.restarts if supervisor is not None else 0
    generator = Generator(world, flow, recorder, rate)
    generator.start()
    windows: list[tuple[str, float, float, float]] = []  # (drill, start, drill end, window end)
    kills = 0
    try:
        time.sleep(3.0)  # warm: every function container and connection pool in use
        for name in drills:
            drill = DRILLS[name]
            _log.warning("drill %s (%.0f s)", name, drill_s)
            start = time.perf_counter()
            drill.run(data_dir, drill_s)
            ended = time.perf_counter()
            time.sleep(tail_s)
            world.close()  # the bench's own PostgreSQL connection may not have survived the drill
            kills += drill.kills
            windows.append((name, start, ended, ended + tail_s))
    finally:
        faults.clear(data_dir)
        generator.stop()
    quiescence = quiesce.wait(world, timeout_s=300)
    time.sleep(2.0)  # the last events on their way to the WebSockets
    listener.stop()
    # Figures once every event is in: an order accepted after its window still counts its latency.
    results = {
        name: {"drill_s": round(ended - start, 1), **window_figures(flow, start, end)}
        for name, start, ended, end in windows
    }
    # The hold sweeper's scheduled run (every 5 minutes when deployed; schedules are off here):
    # what a step cut short by a drill left behind (a hold of a finished order) it releases.
    sweep = runtime.trigger_schedule("HoldSweeperFunction")
    state = snapshot.take(world)
    world.close()
    found = [c for c in checks.all_checks(state, world, recorder) if c.name not in _WORKLOAD_CHECKS]
    found.insert(0, checks.Check("quiescence", quiescence.drained, {"reason": quiescence.reason}))
    restarts = (supervisor.restarts if supervisor is not None else 0) - restarts_before
    found.append(checks.matcher_exits_only_when_killed({"matcher_restarts": restarts, "SIGKILL": kills}))
    found += checks.reconciliation(reconcile(runtime), found)
    every_order = list(flow.orders)
    server_errors = sum(1 for _, status in flow.answers if status >= 500 and status != 503)
    ok = all(c.ok for c in found) and server_errors == 0
    return {
        "benchmark": "availability",
        "ok": ok,
        "rate_per_s": rate,
        "drill_s": drill_s,
        "tail_s": tail_s,
        "orders": len(every_order),
        "orders_accepted": sum(1 for o in every_order if o.order_id in flow.accepted),
        "orders_never_placed": sum(1 for o in every_order if o.order_id is None),
        # the contract: every order is accepted or answered 503 (a client that gave up
        # after a 503 may have met 409 while the idempotency record outlived the outage)
        "orders_never_placed_without_503": sum(
            1 for o in every_order if o.order_id is None and 503 not in o.statuses
        ),
        "never_placed_answers": sorted({tuple(o.statuses) for o in every_order if o.order_id is None}),
        "flow_saturated_s": round(generator.saturated_s, 1),
        "server_errors_not_503": server_errors,
        "throttled_requests_injected": faults.injected_counts(),
        "hold_sweeper": [
            {k: len(v) if isinstance(v, list) else v for k, v in r.items()}
            for r in sweep
            if isinstance(r, dict)
        ],
        "drills": results,
        "checks": {c.name: {"ok": c.ok, **({"detail": c.detail} if not c.ok else {})} for c in found},
        "environment": environment(),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.availability_bench", description=__doc__)
    parser.add_argument("--drills", default=",".join(DRILLS), help=f"comma-separated of {', '.join(DRILLS)}")
    parser.add_argument("--drill-seconds", type=float, default=10.0)
    parser.add_argument("--tail", type=float, default=15.0, help="seconds measured after each drill")
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary dir, removed after a clean run")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv if argv is not None else [])
    drills = [d for d in args.drills.split(",") if d]
    unknown = [d for d in drills if d not in DRILLS]
    if unknown:
        raise SystemExit(f"unknown drill(s): {', '.join(unknown)}")
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="availability-"))
    runtime = LocalRuntime(
        data_dir / "data", rest_port=0, ws_port=0, run_schedules=False, persist_dynamodb=False
    )
    with contextlib.redirect_stdout(sys.stderr):  # the functions log to stdout
        runtime.start()
        try:
            result = run(runtime, drills, args.drill_seconds, args.tail, args.rate)
        finally:
            runtime.stop()
    result["data_dir"] = str(data_dir)
    if result["ok"] and args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
        result["data_dir"] = None
    if not args.no_write:
        result["written_to"] = str(write_result("availability", result))
    print(json.dumps(result, indent=1), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:])["ok"] else 1)
