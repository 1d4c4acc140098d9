"""The per-drill figures of ``bench.availability_bench`` from a recorded flow."""

from __future__ import annotations

from bench.availability_bench import Flow, Order, _price, window_figures


def test_the_longest_gap_counts_from_the_window_edges_and_per_symbol() -> None:
    flow = Flow()
    flow.events = [
        (11.0, "BTC-USD", "a", "accepted"),
        (12.0, "BTC-USD", "a", "fill"),
        (18.0, "BTC-USD", "b", "accepted"),
        (10.5, "ETH-USD", "c", "accepted"),
        (30.0, "ETH-USD", "d", "accepted"),  # after the window
    ]
    figures = window_figures(flow, 10.0, 20.0)
    # BTC: 12 -> 18 is the longest (nothing after it: the window's end closes it at 2 s);
    # ETH: the stall from 10.5 is still going on at 20 and lasts until the next event at 30
    assert figures["longest_gap_s"] == {"BTC-USD": 6.0, "ETH-USD": 19.5}


def test_latency_counts_orders_first_sent_in_the_window_and_5xx_other_than_503() -> None:
    flow = Flow()
    flow.orders = [Order("BTC-USD", 10.0, "a"), Order("BTC-USD", 11.0, "b"), Order("ETH-USD", 12.0, None)]
    flow.orders.append(Order("ETH-USD", 25.0, "late"))  # sent after the window
    flow.accepted = {"a": 10.5, "b": 14.0, "late": 26.0}
    flow.answers = [(10.1, 201), (11.2, 503), (12.5, 503), (13.0, 500), (14.0, 201), (25.0, 502)]
    figures = window_figures(flow, 10.0, 20.0)
    assert figures["orders"] == 3 and figures["not_accepted"] == 1
    assert figures["accepted_p50_s"] == 3.0 and figures["accepted_max_s"] == 3.0
    assert figures["answers"] == {"201": 2, "500": 1, "503": 2}
    assert figures["server_errors_not_503"] == 1


def test_prices_are_integer_cents_on_both_sides_of_the_mid() -> None:
    prices = {_price("BTC-USD", "BUY", tick) for tick in range(5)}
    assert prices == {"29990.00", "29995.00", "30000.00", "30005.00", "30010.00"}
    assert _price("ETH-USD", "SELL", 0) == "2002.00"
