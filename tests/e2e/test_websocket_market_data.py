"""WebSocket API end to end: a real ``websockets`` client against the local runtime.

Another client trades over REST while a subscriber follows ``book:ETH-USD``; the subscriber gets a
snapshot, then deltas whose seq ranges follow each other with no gap, and the book it rebuilds
equals ``GET /v1/book``. The private ``orders`` channel shows each account only its own orders, and
a connect without a valid signature is refused.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import websockets
from trading.auth import sign, ws_string_to_sign
from trading.client import TradingClient

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SYMBOL = "ETH-USD"
WAIT_S = 60.0


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The shared ``local_runtime`` fixture when the suite has one, else a runtime of our own."""
    try:
        yield request.getfixturevalue("local_runtime")
        return
    except pytest.FixtureLookupError:
        pass
    from localcloud.runtime import LocalRuntime

    data_dir: Path = tmp_path_factory.mktemp("ws-e2e")
    started = LocalRuntime(data_dir, rest_port=0, ws_port=0, persist_dynamodb=False).start()
    try:
        yield started
    finally:
        started.stop()


def _keys(runtime: Any) -> dict[str, Any]:
    keys = {key.account_id: key for key in runtime.seeded}
    assert {"alice", "bob"} <= set(keys), "the runtime seeds the demo accounts alice and bob"
    return keys


def _ws_url(runtime: Any, key: Any | None, *, secret: str | None = None, ts_ms: int | None = None) -> str:
    if key is None:
        return f"{runtime.urls.ws}/"
    ts = ts_ms if ts_ms is not None else time.time_ns() // 1_000_000
    query = {"key": key.key_id, "ts": str(ts), "sig": sign(secret or key.secret, ws_string_to_sign(ts))}
    return f"{runtime.urls.ws}/?{urlencode(query)}"


def _rest(runtime: Any, key: Any) -> TradingClient:
    return TradingClient(runtime.urls.rest, key.key_id, key.secret)


def _frames(raw: str | bytes) -> list[dict[str, Any]]:
    item = json.loads(raw)
    return item if isinstance(item, list) else [item]


class BookFollower:
    """The client side of the protocol in docs/websocket.md, strict: it records any gap."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.seq: int | None = None
        self.applied: list[tuple[int, int]] = []
        self.gaps: list[tuple[int, int]] = []
        self.changes = 0
        self.early: list[dict[str, Any]] = []  # deltas that arrived before the snapshot

    def on_message(self, message: dict[str, Any]) -> None:
        if message.get("channel") != f"book:{SYMBOL}":
            return
        if message["type"] == "snapshot":
            self.bids = {price: qty for price, qty in message["bids"]}
            self.asks = {price: qty for price, qty in message["asks"]}
            self.seq = message["seq"]
            early, self.early = self.early, []
            for delta in early:
                self.on_message(delta)
        elif message["type"] == "delta":
            if self.seq is None:
                self.early.append(message)
            elif message["seq"] <= self.seq:
                return  # already in the snapshot
            elif message["first_seq"] > self.seq + 1:
                self.gaps.append((self.seq, message["first_seq"]))
            else:
                for side, price, quantity in message["changes"]:
                    levels = self.bids if side == "BUY" else self.asks
                    if quantity == _zero(quantity):
                        levels.pop(price, None)
                    else:
                        levels[price] = quantity
                self.applied.append((message["first_seq"], message["seq"]))
                self.changes += len(message["changes"])
                self.seq = message["seq"]

    def as_rest(self, depth: int) -> dict[str, Any]:
        bids = sorted(self.bids.items(), key=_price, reverse=True)[:depth]
        asks = sorted(self.asks.items(), key=_price)[:depth]
        return {
            "bids": [{"price": p, "quantity": q} for p, q in bids],
            "asks": [{"price": p, "quantity": q} for p, q in asks],
        }


def _zero(text: str) -> str:
    return "".join("0" if c.isdigit() else c for c in text)


def _price(item: tuple[str, str]) -> tuple[int, int]:
    whole, _, fraction = item[0].partition(".")
    return int(whole), int(fraction or 0)


async def _drain(ws: Any, sink: Any, until: Any, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for WebSocket messages")
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=min(remaining, 1.0))
        except TimeoutError:
            continue
        for message in _frames(raw):
            sink(message)


def _place(client: TradingClient, side: str, price: str, quantity: str) -> str:
    """Place a limit order; a 5xx is retried with the same client_order_id (idempotent), as any
    client would."""
    client_order_id = f"ws-e2e-{uuid.uuid4().hex[:16]}"
    for _ in range(3):
        response = client.place_order(
            symbol=SYMBOL,
            side=side,
            type="LIMIT",
            price=price,
            quantity=quantity,
            client_order_id=client_order_id,
        )
        if response.status_code < 500:
            break
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def test_book_subscriber_gets_snapshot_then_gap_free_deltas_and_rebuilds_the_rest_book(runtime):
    keys = _keys(runtime)
    alice, bob = _rest(runtime, keys["alice"]), _rest(runtime, keys["bob"])
    follower = BookFollower()
    market: list[dict[str, Any]] = []

    def on_message(message: dict[str, Any]) -> None:
        follower.on_message(message)
        if message["type"] in ("trade", "ticker"):
            market.append(message)

    async def scenario() -> None:
        async with websockets.connect(_ws_url(runtime, keys["alice"])) as ws:
            # Given a subscriber that has its snapshot
            for channel in (f"trades:{SYMBOL}", f"ticker:{SYMBOL}", f"book:{SYMBOL}"):
                await ws.send(json.dumps({"action": "subscribe", "channel": channel}))
            await _drain(ws, on_message, lambda: follower.seq is not None)
            # When other clients trade: resting asks, crossing bids, a cancel, more resting bids
            placed = await asyncio.to_thread(_trade, alice, bob)
            # Then the subscriber's book reaches the seq the REST book shows once the matcher has
            # taken every one of those orders
            pending = dict(placed)

            def caught_up() -> bool:
                for order_id, client in list(pending.items()):
                    if client.get_order(order_id).json().get("status") == "PENDING":
                        return False
                    del pending[order_id]
                return follower.seq is not None and follower.seq == _book_seq(bob)

            await _drain(ws, on_message, lambda: bool(follower.gaps) or caught_up())

    asyncio.run(scenario())
    # Then: deltas in sequence order with no gaps, and the same book as the REST API
    assert follower.gaps == []
    assert follower.applied and follower.changes >= 8, "trading produced book changes"
    for (_, previous), (first, _) in zip(follower.applied, follower.applied[1:], strict=False):
        assert first == previous + 1
    rest_book = bob.book(SYMBOL, depth=500).json()
    assert rest_book["seq"] == follower.seq
    assert follower.as_rest(depth=500) == {"bids": rest_book["bids"], "asks": rest_book["asks"]}
    # And the trades and ticker channels carried the scenario's trades
    trade_prices = {m["price"] for m in market if m["type"] == "trade"}
    assert {"2100.00", "2101.00", "2049.50"} <= trade_prices
    assert any(m["type"] == "ticker" and m["price"] in trade_prices for m in market)


def _book_seq(client: TradingClient) -> int:
    return int(client.book(SYMBOL).json()["seq"] or 0)


def _trade(alice: TradingClient, bob: TradingClient) -> dict[str, TradingClient]:
    """Orders that trade, rest and cancel on the book; returns order id -> its owner's client."""
    placed: dict[str, TradingClient] = {}

    def place(client: TradingClient, side: str, price: str, quantity: str) -> str:
        order_id = _place(client, side, price, quantity)
        placed[order_id] = client
        return order_id

    for step in range(5):
        place(alice, "SELL", f"{2100 + step}.00", "0.100")
    place(bob, "BUY", "2101.00", "0.150")  # takes 2100.00 and half of 2101.00
    resting = place(bob, "BUY", "2050.00", "0.200")
    place(bob, "BUY", "2049.50", "0.300")
    assert bob.cancel_order(resting).status_code in (200, 202)
    place(alice, "SELL", "2049.50", "0.100")  # hits bob's 2049.50 bid
    place(bob, "BUY", "2104.00", "0.500")  # sweeps the asks that are left
    return placed


def test_private_orders_channel_shows_each_account_only_its_own_orders(runtime):
    keys = _keys(runtime)
    alice, bob = _rest(runtime, keys["alice"]), _rest(runtime, keys["bob"])
    seen: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": []}
    placed: dict[str, set[str]] = {"alice": set(), "bob": set()}

    async def scenario() -> None:
        async with (
            websockets.connect(_ws_url(runtime, keys["alice"])) as ws_alice,
            websockets.connect(_ws_url(runtime, keys["bob"])) as ws_bob,
        ):
            for ws in (ws_alice, ws_bob):
                await ws.send(json.dumps({"action": "subscribe", "channel": "orders"}))
                got: list[dict[str, Any]] = []
                await _drain(ws, got.append, lambda got=got: any(m["type"] == "subscribed" for m in got))
            # When alice and bob trade with each other
            placed["alice"].add(await asyncio.to_thread(_place, alice, "SELL", "2200.00", "0.010"))
            placed["bob"].add(await asyncio.to_thread(_place, bob, "BUY", "2200.00", "0.010"))
            placed["bob"].add(await asyncio.to_thread(_place, bob, "BUY", "1000.00", "0.010"))

            def filled(account: str) -> bool:
                return {"fill"} <= {m.get("event") for m in seen[account]} and {
                    m.get("order_id") for m in seen[account] if m.get("event") == "accepted"
                } >= placed[account]

            await asyncio.gather(
                _drain(ws_alice, seen["alice"].append, lambda: filled("alice")),
                _drain(ws_bob, seen["bob"].append, lambda: filled("bob")),
            )

    asyncio.run(scenario())
    # Then each connection saw only its own account's orders (and its own side of the fill)
    for account, other in (("alice", "bob"), ("bob", "alice")):
        orders = [m for m in seen[account] if m["type"] == "order"]
        assert orders and all(m["channel"] == "orders" for m in orders)
        assert {m["order_id"] for m in orders} <= placed[account]
        assert not {m["order_id"] for m in orders} & placed[other]
        assert other not in json.dumps(orders)


@pytest.mark.parametrize("variant", ["no-credentials", "bad-signature", "stale", "unknown-key"])
def test_unauthenticated_connect_is_refused(runtime, variant):
    keys = _keys(runtime)
    alice = keys["alice"]
    url = {
        "no-credentials": lambda: _ws_url(runtime, None),
        "bad-signature": lambda: _ws_url(runtime, alice, secret="not-the-secret"),
        "stale": lambda: _ws_url(runtime, alice, ts_ms=time.time_ns() // 1_000_000 - 120_000),
        "unknown-key": lambda: _ws_url(runtime, alice).replace(alice.key_id, "ak_unknown_key_0000000"),
    }[variant]()

    async def attempt() -> None:
        async with websockets.connect(url) as ws:
            await ws.recv()

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 403


def test_ping_gets_pong_and_an_unknown_action_gets_an_error(runtime):
    keys = _keys(runtime)

    async def talk() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with websockets.connect(_ws_url(runtime, keys["bob"])) as ws:
            await ws.send(json.dumps({"action": "ping", "id": "hb-1"}))
            await _drain(ws, got.append, lambda: len(got) >= 1, timeout=15)
            await ws.send(json.dumps({"action": "dance", "id": "x"}))  # routed to $default
            await _drain(ws, got.append, lambda: len(got) >= 2, timeout=15)
        return got

    pong, error = asyncio.run(talk())
    assert pong == {"type": "pong", "id": "hb-1"}
    assert (error["type"], error["code"]) == ("error", "VALIDATION_ERROR")
