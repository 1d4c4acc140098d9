"""End-to-end benchmark: orders through the whole local runtime, for each ``MessageGroupId`` scheme.

For each scheme (``OrderGroupScheme`` = ``symbol`` | ``account_symbol``, docs/adr/0004-message-group-id.md)
a fresh :class:`localcloud.runtime.LocalRuntime` is started in this process (temporary data dir, free
ports, schedules off) with that template parameter. Funded traders are created through the admin
function, each opens a signed WebSocket subscribed to its private ``orders`` channel, then one
thread per trader POSTs crossing limit orders (half the traders buy, half sell, all at one price,
so every order fills). Measured:

* orders/s sustained: orders with a final event (``filled``/``rejected``/``canceled``) over the
  wall time from the first POST to the last final event;
* latency from the POST being sent to events arriving on the WebSocket, p50/p99: ``accepted``
  (every order), ``filled`` of the orders that filled as taker on arrival (the POST -> fill
  figure), and the final event of every order (a resting maker's also includes waiting for its
  counterparty to be POSTed);
* HTTP latency of ``POST /v1/orders``, p50/p99;
* AWS API calls per order, **counted** while the orders run: every request moto dispatches
  (``BaseResponse.call_action``, by service and action) plus the ``@connections`` calls the
  runtime's WebSocket gateway serves (``execute-api``). The caller is told apart by the SDK
  user agent's app id: the functions (in this process), the matcher (a subprocess) and the
  runtime's event-source pollers (which stand in for Lambda's SQS/stream event source mappings,
  i.e. not calls a deployment pays per request).

Numbers are moto's and one machine's: compare the schemes within one run, not with AWS.
Run: ``python -m bench.e2e_bench`` (``BENCH_E2E_ORDERS``, default 200; ``BENCH_E2E_TRADERS``, 4;
``BENCH_E2E_IDLE_PAIRS``, 10; ``BENCH_E2E_TIMEOUT_S``, 180). Each scheme runs in a child process
(``--scheme``/``--out``); its log (the functions' JSON logs) is kept under a printed temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import botocore.config
import websockets
from localcloud import pollers
from localcloud.runtime import LocalRuntime
from localcloud.websocket import WebSocketGateway
from moto.core.responses import BaseResponse
from trading.auth import sign, ws_string_to_sign
from trading.client import TradingClient, decode

from bench.results import environment, write_result

ORDERS = int(os.environ.get("BENCH_E2E_ORDERS", "200"))
TRADERS = max(2, int(os.environ.get("BENCH_E2E_TRADERS", "4")) // 2 * 2)
REPO = Path(__file__).resolve().parent.parent
SCHEMES = ("symbol", "account_symbol")
SYMBOL = "ETH-USD"
PRICE = "2500.00"
QUANTITY = "0.010"
FINAL_EVENTS = frozenset({"filled", "rejected", "canceled"})
IDLE_PAIRS = int(os.environ.get("BENCH_E2E_IDLE_PAIRS", "10"))
SETTLE_TIMEOUT_S = float(os.environ.get("BENCH_E2E_TIMEOUT_S", "180"))

APP_FUNCTIONS = "e2e-functions"
APP_MATCHER = "e2e-matcher"
APP_POLLERS = "e2e-pollers"
APP_SAMPLER = "e2e-sampler"  # the bench's own queue-depth sampler: not counted
_CALLERS = {APP_FUNCTIONS: "functions", APP_MATCHER: "matcher", APP_POLLERS: "pollers"}


# -- pure helpers --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = -(-round(fraction * 1000) * len(ordered) // 1000)  # ceil(fraction * n)
    return ordered[max(0, min(len(ordered), rank) - 1)]


def summary_ms(seconds: list[float]) -> dict[str, float | int]:
    """Count, p50, p99 and max of durations given in seconds, in milliseconds (1 decimal)."""
    if not seconds:
        return {"count": 0}
    ms = [s * 1000.0 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1),
    }


def caller_of(user_agent: str) -> str:
    """The bench's name for the SDK client that sent a request, from its ``app/<id>`` user agent."""
    match = re.search(r"\bapp/(\S+)", user_agent)
    return _CALLERS.get(match.group(1), "other") if match else "other"


def per_order(counts: Mapping[tuple[str, str, str], int], orders: int) -> dict[str, Any]:
    """Calls per order by caller, and by ``service:action`` within each caller."""
    callers: dict[str, dict[str, Any]] = {}
    for (caller, service, action), count in sorted(counts.items()):
        entry = callers.setdefault(caller, {"total": 0.0, "actions": {}})
        entry["actions"][f"{service}:{action}"] = round(count / orders, 2)
        entry["total"] = round(entry["total"] + count / orders, 2)
    return callers


# -- counting AWS calls --------------------------------------------------------------------------


class CallCounter:
    """Counts (caller, service, action) of the requests moto and the ``@connections`` API serve."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, user_agent: str, service: str, action: str) -> None:
        if f"app/{APP_SAMPLER}" in user_agent:
            return
        with self._lock:
            self.counts[(caller_of(user_agent), service, action)] += 1

    def take(self) -> Counter[tuple[str, str, str]]:
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts


COUNTER = CallCounter()
_installed = False


def install_counting() -> None:
    """Process-wide patches (once): count moto dispatches and ``@connections`` requests, tag callers."""
    global _installed  # noqa: PLW0603 - the patches are process-wide by nature
    if _installed:
        return

    original_call_action = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        headers = getattr(self, "headers", None) or {}
        service = type(self).__module__.split(".")[1]
        try:
            action = self._get_action()
        except Exception:  # counting must never break a request
            action = "unknown"
        COUNTER.add(str(headers.get("User-Agent", "")), service, action)
        return original_call_action(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]

    original_manage = WebSocketGateway.manage
    actions = {"POST": "PostToConnection", "GET": "GetConnection", "DELETE": "DeleteConnection"}

    async def manage(self: WebSocketGateway, request: Any) -> Any:
        action = actions.get(request.method, request.method)
        COUNTER.add(request.headers.get("user-agent", ""), "execute-api", action)
        return await original_manage(self, request)

    WebSocketGateway.manage = manage  # type: ignore[method-assign]

    tagged = botocore.config.Config(user_agent_appid=APP_POLLERS)  # type: ignore[call-arg]

    def tagged_client(service: str, endpoint: str, region: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=endpoint, region_name=region, config=tagged
        )

    pollers._client = tagged_client
    # The functions run in this process: their SDK clients (recreated on runtime start) carry this.
    os.environ["AWS_SDK_UA_APP_ID"] = APP_FUNCTIONS
    _installed = True


# -- one run -------------------------------------------------------------------------------------


def _runtime(data_dir: Path, scheme: str) -> LocalRuntime:
    class BenchRuntime(LocalRuntime):
        def matcher_env(self, translated: Mapping[str, Any]) -> dict[str, str]:
            return {**super().matcher_env(translated), "AWS_SDK_UA_APP_ID": APP_MATCHER}

    return BenchRuntime(
        data_dir,
        rest_port=0,
        ws_port=0,
        parameters={"OrderGroupScheme": scheme},
        run_schedules=False,
        persist_dynamodb=False,
    )


class Trader:
    def __init__(self, runtime: Any, side: str, orders: int) -> None:
        self.account_id = f"bench-{uuid.uuid4().hex[:10]}"
        runtime.admin({"action": "create_account", "account_id": self.account_id})
        funding = {"USD": str(30 * orders + 1000), "ETH": str(orders // 50 + 1)}
        for asset, amount in funding.items():
            runtime.admin(
                {"action": "deposit", "account_id": self.account_id, "asset": asset, "amount": amount}
            )
        key = runtime.admin(
            {"action": "create_key", "account_id": self.account_id, "scopes": ["trade", "read"]}
        )
        self.key_id, self.secret = str(key["key_id"]), str(key["secret"])
        self.client = TradingClient(runtime.urls.rest, self.key_id, self.secret)
        self.side = side
        self.orders = orders

    def ws_url(self, base: str) -> str:
        ts = time.time_ns() // 1_000_000
        query = {"key": self.key_id, "ts": str(ts), "sig": sign(self.secret, ws_string_to_sign(ts))}
        return f"{base}/?{urlencode(query)}"


class Listener:
    """One asyncio thread holding every trader's WebSocket; records each order's final event time."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.final: dict[str, tuple[float, str]] = {}
        self.accepted: dict[str, float] = {}
        self.taker: set[str] = set()  # orders that traded as taker (crossed on arrival)
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="e2e-bench-ws", daemon=True)

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
            await ws.send(json.dumps({"action": "subscribe", "channel": "orders", "id": "b"}))
            while not any(m.get("type") == "subscribed" for m in _messages(await ws.recv())):
                pass
        self.ready.set()
        readers = [asyncio.create_task(self._read(ws)) for ws in sockets]
        await self._stop.wait()
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()

    async def _read(self, ws: Any) -> None:
        async for frame in ws:
            now = time.perf_counter()
            for message in _messages(frame):
                if message.get("type") != "order":
                    continue
                order_id, event = str(message.get("order_id")), str(message.get("event"))
                with self.lock:
                    if event in FINAL_EVENTS:
                        self.final.setdefault(order_id, (now, event))
                    elif event == "accepted":
                        self.accepted.setdefault(order_id, now)
                    elif event == "fill" and message.get("liquidity") == "TAKER":
                        self.taker.add(order_id)

    def count(self) -> int:
        with self.lock:
            return len(self.final)


def _messages(frame: str | bytes) -> list[dict[str, Any]]:
    decoded = json.loads(frame)
    return decoded if isinstance(decoded, list) else [decoded]


def _submit(
    trader: Trader, sent: dict[str, float], http: list[float], errors: list[str], count: int | None = None
) -> None:
    for _ in range(trader.orders if count is None else count):
        started = time.perf_counter()
        response = trader.client.place_order(
            symbol=SYMBOL,
            client_order_id=uuid.uuid4().hex,
            side=trader.side,
            type="LIMIT",
            price=PRICE,
            quantity=QUANTITY,
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 201:
            errors.append(f"{response.status_code} {response.text[:200]}")
            continue
        http.append(elapsed)
        sent[str(decode(response)["order_id"])] = started


class QueueSampler:
    """Samples every SQS queue's visible + in-flight messages each 0.5 s: where a backlog builds."""

    def __init__(self, endpoint: str, region: str) -> None:
        config = botocore.config.Config(user_agent_appid=APP_SAMPLER)  # type: ignore[call-arg]
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region, config=config)
        self.peak: Counter[str] = Counter()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="e2e-bench-queues", daemon=True)

    def _run(self) -> None:
        urls = self.sqs.list_queues().get("QueueUrls", [])
        names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        while not self._stop.wait(0.5):
            for url in urls:
                try:
                    attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))
                except Exception as exc:  # a sample lost is not a result lost
                    logging.getLogger(__name__).debug("queue sample failed: %s", exc)
                    continue
                depth = sum(int(attributes["Attributes"].get(name, 0)) for name in names)
                name = url.rsplit("/", 1)[-1]
                self.peak[name] = max(self.peak[name], depth)

    def __enter__(self) -> QueueSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(10)


def _wait(listener: Listener, done: Any, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with listener.lock:
            if done():
                return True
        time.sleep(0.005)
    return False


def _warm_up(group: list[Trader], listener: Listener) -> None:
    """One crossing pair first, so cold starts (imports, first connections) are not measured."""
    sent: dict[str, float] = {}
    for trader in group[:2]:
        _submit(trader, sent, [], [], count=1)
    _wait(listener, lambda: all(oid in listener.final for oid in sent))


def _idle_pairs(group: list[Trader], listener: Listener, pairs: int) -> dict[str, Any]:
    """Unloaded latency: one order in flight at a time. A buy is POSTed and rests (its ``accepted``
    awaited), then a crossing sell is POSTed and its ``filled`` awaited."""
    buyer, seller = group[0], group[1]
    accepted: list[float] = []
    filled: list[float] = []
    for _ in range(pairs):
        sent: dict[str, float] = {}
        _submit(buyer, sent, [], [], count=1)
        (buy_id,) = sent
        if _wait(listener, lambda oid=buy_id: oid in listener.accepted, 30):
            accepted.append(listener.accepted[buy_id] - sent[buy_id])
        sent = {}
        _submit(seller, sent, [], [], count=1)
        (sell_id,) = sent
        if _wait(listener, lambda oid=sell_id: oid in listener.final, 30):
            filled.append(listener.final[sell_id][0] - sent[sell_id])
    return {
        "pairs": pairs,
        "post_to_accepted_event": summary_ms(accepted),
        "post_to_filled_event": summary_ms(filled),
    }


def run(scheme: str, orders: int = ORDERS, traders: int = TRADERS) -> dict[str, Any]:
    install_counting()
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp:
        runtime = _runtime(Path(tmp) / "data", scheme)
        started_runtime = time.perf_counter()
        runtime.start()
        group: list[Trader] = []
        try:
            startup_s = time.perf_counter() - started_runtime
            intake_scheme = runtime.function_env("PlaceOrderFunction").get("ORDER_GROUP_SCHEME")
            if intake_scheme != scheme:
                raise RuntimeError(f"intake runs with ORDER_GROUP_SCHEME={intake_scheme!r}, not {scheme!r}")
            per_trader = orders // traders
            group += [Trader(runtime, "BUY" if i % 2 == 0 else "SELL", per_trader) for i in range(traders)]
            listener = Listener([t.ws_url(runtime.urls.ws) for t in group])
            listener.start()
            try:
                _warm_up(group, listener)
                COUNTER.take()  # setup's calls (accounts, keys, subscriptions) are not the orders'
                idle = _idle_pairs(group, listener, IDLE_PAIRS)
                idle["aws_calls_per_order"] = per_order(COUNTER.take(), 2 * IDLE_PAIRS)
                sent: dict[str, float] = {}
                http: list[float] = []
                errors: list[str] = []
                threads = [threading.Thread(target=_submit, args=(t, sent, http, errors)) for t in group]
                with QueueSampler(runtime.endpoint, runtime.region) as sampler:
                    first = time.perf_counter()
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    submitted_s = time.perf_counter() - first
                    _wait(listener, lambda: all(order_id in listener.final for order_id in sent))
                # Calls still running after the last final event (e.g. a settlement finishing)
                # fall outside the window: the counts are a (tight) lower bound.
                counts = COUNTER.take()
            finally:
                listener.stop()
        finally:
            for trader in group:
                trader.client.close()
            runtime.stop()
    with listener.lock:
        final = {oid: listener.final[oid] for oid in sent if oid in listener.final}
        accepted = [listener.accepted[oid] - sent[oid] for oid in sent if oid in listener.accepted]
        taker = [final[oid][0] - sent[oid] for oid in final if oid in listener.taker]
    last = max((at for at, _ in final.values()), default=first)
    wall_s = last - first
    latencies = [final[oid][0] - sent[oid] for oid in final]
    result = {
        "scheme": scheme,
        "intake_order_group_scheme": intake_scheme,
        "traders": traders,
        "orders_posted": len(sent) + len(errors),
        "orders_accepted_http": len(sent),
        "http_errors": len(errors),
        "http_error_samples": errors[:3],
        "orders_final": len(final),
        "final_events": dict(Counter(event for _, event in final.values())),
        "missing_final": len(sent) - len(final),
        "runtime_startup_s": round(startup_s, 1),
        "submit_wall_s": round(submitted_s, 2),
        "wall_s": round(wall_s, 2),
        "orders_per_s": round(len(final) / wall_s, 1) if wall_s > 0 else 0.0,
        "post_to_accepted_event": summary_ms(accepted),
        "post_to_filled_event_taker": summary_ms(taker),
        "post_to_final_event_all": summary_ms(latencies),
        "http_post": summary_ms(http),
        "aws_calls_per_order": per_order(counts, max(1, len(sent))),
        "idle": idle,
        "peak_queue_depth": {name: depth for name, depth in sorted(sampler.peak.items()) if depth},
        "aws_calls_total": sum(counts.values()),
    }
    print(json.dumps(result, sort_keys=True), flush=True)
    return result


def _run_in_subprocess(scheme: str, log: Path) -> dict[str, Any]:
    """One scheme per process: the ``trading`` package caches clients per process (per Lambda
    container), so a second runtime in one process would reach the first one's stopped moto."""
    out = log.with_suffix(".json")
    with log.open("wb") as sink:
        completed = subprocess.run(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "bench.e2e_bench", "--scheme", scheme, "--out", str(out)],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"e2e bench for scheme {scheme} failed ({completed.returncode}); see {log}")
    result: dict[str, Any] = json.loads(out.read_text())
    print(json.dumps(result, sort_keys=True), flush=True)
    return result


def main() -> dict[str, Any]:
    logs = Path(tempfile.mkdtemp(prefix="e2e-bench-logs-"))
    runs = [_run_in_subprocess(scheme, logs / f"{scheme}.log") for scheme in SCHEMES]
    result = {"benchmark": "e2e_bench", "environment": environment(), "orders": ORDERS, "runs": runs}
    path = write_result("e2e_bench", result)
    print(json.dumps({"benchmark": "e2e_bench", "written": str(path), "logs": str(logs)}), flush=True)
    return result


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_bench")
    parser.add_argument("--scheme", choices=SCHEMES, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.write_text(json.dumps(run(args.scheme)))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _child(sys.argv[1:])
    else:
        main()
