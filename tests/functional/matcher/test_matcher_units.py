"""The matcher's pure parts in-process: batch application, commit preparation, HTTP side, samples."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from matcher_service.http_server import HealthServer
from matcher_service.metrics import Metrics, percentile
from matcher_service.model import Inbound
from matcher_service.service import Matcher
from matcher_service.store import BookStore
from matcher_service.symbol_state import SymbolState
from trading.domain.enums import InstrumentStatus, OrderStatus, OrderType, Side
from trading.domain.instruments import demo_instruments
from trading.engine.codec import decode_command, encode_command
from trading.engine.commands import Cancel, Command, NewOrder
from trading.engine.rules import Grid, holding

BTC = demo_instruments()[0]
EVENTS_DIR = Path(__file__).resolve().parents[3] / "events" / "matcher"


def inbound(command: Command, command_id: str | None = None) -> Inbound:
    return Inbound(
        command_id or command.order_id, command, f"rh-{command.order_id}", f"m-{command.order_id}", 0
    )


def limit(order_id: str, account: str, side: Side, price: int, quantity: int) -> NewOrder:
    return holding(Grid(BTC), NewOrder(order_id, account, "BTC-USD", side, OrderType.LIMIT, price, quantity))


def test_apply_turns_engine_events_into_order_states_levels_and_gap_free_records():
    # Given an empty book
    state = SymbolState(BTC, 0, [])

    # When a resting ask is partly taken by a bid in the same batch
    outcome = state.apply(
        [
            inbound(limit("s1", "alice", Side.SELL, 3_000_000, 10)),
            inbound(limit("b1", "bob", Side.BUY, 3_000_000, 4)),
        ],
        "2026-11-25T00:00:00.000000Z",
    )

    # Then both orders have one write each with their final state, and the level is what rests
    assert outcome.prev_seq == 0
    assert [r.seq for r in outcome.events] == list(range(1, outcome.last_seq + 1))
    s1, b1 = outcome.orders["s1"].view, outcome.orders["b1"].view
    assert s1 is not None and b1 is not None
    assert (s1.status, s1.filled, s1.remaining) == (OrderStatus.PARTIALLY_FILLED, 4, 6)
    assert (b1.status, b1.filled, b1.remaining) == (OrderStatus.FILLED, 4, 0)
    assert [(w.side, w.price, w.quantity) for w in outcome.levels.values()] == [(Side.SELL, 3_000_000, 6)]
    assert outcome.orders["s1"].new_order and outcome.orders["b1"].new_order


def test_redeliveries_known_in_memory_are_skipped_without_new_events():
    # Given a committed batch
    state = SymbolState(BTC, 0, [])
    first = state.apply([inbound(limit("s1", "alice", Side.SELL, 3_000_000, 10))], "t")
    state.committed(first)
    cancel = inbound(Cancel("s1", "alice", "BTC-USD"), "cancel-1")
    state.committed(state.apply([cancel], "t"))

    # When the same commands arrive again
    again = state.apply(
        [inbound(limit("s1", "alice", Side.SELL, 3_000_000, 10), "other-dedup-id"), cancel], "t"
    )

    # Then nothing is applied
    assert again.empty
    assert len(again.skipped) == 2


def test_a_halted_book_rejects_new_orders():
    state = SymbolState(BTC, 0, [])
    state.set_status(InstrumentStatus.HALTED)
    outcome = state.apply([inbound(limit("b1", "bob", Side.BUY, 3_000_000, 1))], "t")
    assert [r.detail_type for r in outcome.events] == ["OrderRejected"]
    view = outcome.orders["b1"].view
    assert view is not None and (view.status, view.reject_code) == (OrderStatus.REJECTED, "INSTRUMENT_HALTED")


def test_prepare_puts_markers_and_checkpoint_in_the_transaction_and_defers_the_rest():
    # Given a sweep over 30 makers (31 orders + 30 levels touched)
    state = SymbolState(BTC, 0, [])
    makers = [inbound(limit(f"s{n:02d}", "alice", Side.SELL, 3_000_000 + n, 1)) for n in range(30)]
    state.committed(state.apply(makers, "t"))
    sweep = state.apply([inbound(limit("b1", "bob", Side.BUY, 3_000_100, 30))], "t")
    store = BookStore(None, "orders", "books", "instruments", transact_limit=20)

    # When the commit is prepared
    prepared = store.prepare(sweep, "t", "token-1")

    # Then it fits the limit, starts with the conditioned checkpoint, carries the taker's marker,
    # and every write that did not fit is in the outbox as a seq-conditioned deferred write
    items = prepared.transact_items
    assert len(items) <= 20
    assert items[0]["Update"]["ConditionExpression"] == "#seq = :prev"
    taker = [i for i in items if i.get("Update", {}).get("Key") == {"order_id": {"S": "b1"}}]
    assert "#st = :pending" in taker[0]["Update"]["ConditionExpression"]
    inline_writes = len(items) - 1 - len(prepared.outbox)
    assert inline_writes + len(prepared.deferred) == len(sweep.orders) + len(sweep.levels)
    assert all("seq" in json.dumps(d) for d in prepared.deferred)
    assert prepared.outbox[0].deferred == prepared.deferred


def test_the_first_commit_of_a_symbol_requires_that_no_checkpoint_exists():
    state = SymbolState(BTC, 0, [])
    outcome = state.apply([inbound(limit("b1", "bob", Side.BUY, 3_000_000, 1))], "t")
    prepared = BookStore(None, "orders", "books", "instruments").prepare(outcome, "t", "tok")
    assert prepared.transact_items[0]["Update"]["ConditionExpression"] == "attribute_not_exists(sk)"
    assert prepared.deferred == []


def test_percentile_is_nearest_rank():
    assert percentile([], 0.99) == 0.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_health_is_503_until_polling_and_metrics_report_batches():
    # Given the HTTP side on a free port while the matcher recovers
    metrics = Metrics()
    metrics.state = "recovering"
    metrics.queue_stats = lambda: {"queue_visible": 3, "queue_in_flight": 1}
    server = HealthServer("127.0.0.1", 0, metrics)
    server.start()
    try:
        assert _get(server.port, "/health")[0] == 503

        # When it polls and finishes two batches
        metrics.state = "polling"
        metrics.batch_done(10, 9, 1, 0.020, 150)
        metrics.batch_done(4, 4, 0, 0.010, 50)

        # Then health is 200 and the metrics add up
        assert _get(server.port, "/health") == (200, {"status": "polling"})
        status, body = _get(server.port, "/metrics")
        assert status == 200
        assert (body["batches"], body["last_batch_size"], body["commands_processed"]) == (2, 4, 13)
        assert body["batch_ms_p99"] == pytest.approx(20.0)
        assert (body["queue_visible"], body["queue_in_flight"]) == (3, 1)
    finally:
        server.stop()


@pytest.mark.parametrize("path", sorted(EVENTS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_sample_messages_decode_with_the_engine_codec(path: Path):
    message = json.loads(path.read_text())
    command = decode_command(message["Body"])
    assert command.symbol == message["Attributes"]["MessageGroupId"]
    assert Matcher._decode(None, message) is not None  # type: ignore[arg-type]
    # The samples show what intake sends: the canonical form, byte for byte
    assert encode_command(command).decode() == message["Body"]


def test_a_budget_only_market_buy_stores_no_quantity_of_its_own():
    # Given a resting ask and a market buy bounded only by a quote budget
    state = SymbolState(BTC, 0, [])
    state.committed(state.apply([inbound(limit("s1", "alice", Side.SELL, 3_000_000, 10))], "t"))
    market = holding(
        Grid(BTC),
        NewOrder("m1", "bob", "BTC-USD", Side.BUY, OrderType.MARKET, None, None, quote_budget=30_000_000),
    )

    # When it trades and the commit is prepared
    outcome = state.apply([inbound(market)], "t")
    prepared = BookStore(None, "orders", "books", "instruments").prepare(outcome, "t", "tok")

    # Then its Orders update writes what filled but not the engine's max_quantity bound
    update = next(
        i["Update"]
        for i in prepared.transact_items
        if i.get("Update", {}).get("Key") == {"order_id": {"S": "m1"}}
    )
    written = set(update["ExpressionAttributeNames"].values())
    assert {"status", "filled_quantity"} <= written
    assert "quantity" not in written
    view = outcome.orders["m1"].view
    assert view is not None and view.filled == 10
