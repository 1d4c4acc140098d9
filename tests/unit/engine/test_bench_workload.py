"""The benchmark's standard workload: deterministic, as specified, and all books agree on it."""

from trading.domain.enums import OrderType, TimeInForce
from trading.engine import Cancel, NewOrder, OrderRejected
from trading.engine.implementations import book_implementations

from bench.engine_bench import INSTRUMENT, generate_workload


def test_workload_is_deterministic_and_has_the_specified_mix() -> None:
    # When the workload is generated twice with the same seed
    first, counts = generate_workload(5_000)
    second, _ = generate_workload(5_000)
    # Then it is identical, and the mix is ~70% limit / 20% cancel / 10% IOC+market
    assert first == second
    limits = sum(isinstance(c, NewOrder) and c.time_in_force is TimeInForce.GTC for c in first)
    cancels = sum(isinstance(c, Cancel) for c in first)
    aggressive = sum(
        isinstance(c, NewOrder) and (c.time_in_force is TimeInForce.IOC or c.order_type is OrderType.MARKET)
        for c in first
    )
    assert (limits, cancels, aggressive) == (
        counts["limit"],
        counts["cancel"],
        counts["ioc"] + counts["market"] + counts["market_budget"],
    )
    assert 0.66 < limits / 5_000 < 0.74
    assert 0.17 < cancels / 5_000 < 0.23
    assert 0.08 < aggressive / 5_000 < 0.12


def test_every_book_produces_identical_events_on_the_workload() -> None:
    # Given the first 5,000 messages of the standard workload
    commands, _ = generate_workload(5_000)
    # When every implementation processes them
    outputs = {}
    for name, factory in book_implementations().items():
        book = factory(INSTRUMENT)
        outputs[name] = [book.process(command) for command in commands]
    # Then the events are identical, trades happened and every cancel found its order
    reference = outputs.pop("reference")
    for name, events in outputs.items():
        assert events == reference, name
    flat = [type(e).__name__ for events in reference for e in events]
    assert flat.count("Trade") > 100
    rejected_cancels = [
        e for events in reference for e in events if isinstance(e, OrderRejected) and e.request == "cancel"
    ]
    assert rejected_cancels == []
