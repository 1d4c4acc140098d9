"""What the workers do: short seeded request sequences, each exercising one part of the API.

Every order type and time in force (LIMIT GTC/IOC/FOK, MARKET sells by quantity, MARKET buys by
``quote_amount``), post-only (passive and crossing, and the LIMIT+IOC+post_only combination),
every STP mode on self-crossing orders, cancels, cancel-all, amends of price and quantity both
ways (also right after a partial fill), idempotent retries, concurrent duplicates, and requests
that must be refused (insufficient funds, off-grid price or quantity)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from trading.domain.numbers import parse_units

from bench.soak.workload import Placed, Worker, body
from bench.soak.world import MID, QUANTITY, RESTING, STEP, SYMBOLS, Trader

STP_MODES = ("CANCEL_NEWEST", "CANCEL_OLDEST", "CANCEL_BOTH")
PARTIAL_POLLS = 8


# -- helpers ---------------------------------------------------------------------------------------
def _price(w: Worker, symbol: str, side: str, low: int, high: int) -> int:
    """A price ``low..high`` grid steps from the mid, towards the other side for positive steps."""
    steps = w.rng.randint(low, high)
    return MID[symbol] + (steps if side == "BUY" else -steps) * STEP[symbol]


def _quantity(w: Worker, symbol: str) -> int:
    return w.rng.randint(*QUANTITY[symbol])


def _limit(w: Worker, symbol: str, side: str, price: int, quantity: int, **extra: Any) -> dict[str, Any]:
    instrument = w.world.instruments[symbol]
    return {
        "symbol": symbol,
        "side": side,
        "type": "LIMIT",
        "price": instrument.format_price(price),
        "quantity": instrument.format_quantity(quantity),
        **extra,
    }


def _coid(w: Worker) -> str:
    return f"soak-{w.index}-{w.rng.getrandbits(48):012x}"


def place(w: Worker, trader: Trader, scenario: str, order: dict[str, Any]) -> httpx.Response | None:
    response = w.recorder.send("POST /v1/orders", lambda: trader.client.place_order(**order))
    answer = body(response)
    if response is not None and response.status_code == 201 and "order_id" in answer:
        w.recorder.placed(
            Placed(
                str(answer["order_id"]),
                trader.account_id,
                order["symbol"],
                order["side"],
                scenario,
                order.get("client_order_id"),
            )
        )
    return response


def place_valid(w: Worker, trader: Trader, scenario: str, order: dict[str, Any]) -> str | None:
    """Place an order the intake must accept (or refuse for funds only); its id when accepted."""
    response = place(w, trader, scenario, order)
    status = None if response is None else response.status_code
    code = body(response).get("code")
    w.recorder.expect(
        "valid order accepted", status == 201 or code == "INSUFFICIENT_FUNDS", f"{order} -> {status} {code}"
    )
    return str(body(response)["order_id"]) if status == 201 else None


def get_order(w: Worker, trader: Trader, order_id: str) -> dict[str, Any]:
    """An order of the trader's own: always readable by it."""
    response = w.recorder.send("GET /v1/orders/{id}", lambda: trader.client.get_order(order_id))
    status = None if response is None else response.status_code
    w.recorder.expect("own order readable", status == 200, f"{order_id} -> {status} {body(response)}")
    return body(response)


def amend(w: Worker, trader: Trader, order_id: str, price: str | None, quantity: str | None) -> None:
    response = w.recorder.send(
        "PATCH /v1/orders/{id}", lambda: trader.client.amend_order(order_id, price=price, quantity=quantity)
    )
    status = None if response is None else response.status_code
    code = body(response).get("code")
    w.recorder.expect(
        "amend answered",
        status == 202 or code in {"ORDER_NOT_OPEN", "INVALID_AMEND"},
        f"{order_id} price={price} quantity={quantity} -> {status} {body(response)}",
    )


# -- scenarios -------------------------------------------------------------------------------------
def limit_order(w: Worker, time_in_force: str) -> None:
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    low, high = (-5, 2) if time_in_force == "GTC" else (-1, 3)
    extra: dict[str, Any] = {"time_in_force": time_in_force, "stp": w.rng.choice(STP_MODES)}
    if w.rng.random() < 0.3:
        extra["client_order_id"] = _coid(w)
    order = _limit(w, symbol, side, _price(w, symbol, side, low, high), _quantity(w, symbol), **extra)
    place_valid(w, trader, f"limit_{time_in_force.lower()}", order)


def market_order(w: Worker) -> None:
    trader, symbol = w.rng.choice(w.traders), w.rng.choice(SYMBOLS)
    instrument = w.world.instruments[symbol]
    order: dict[str, Any] = {
        "symbol": symbol,
        "type": "MARKET",
        "time_in_force": w.rng.choice(("GTC", "IOC")),
    }
    if w.rng.random() < 0.5:
        order.update(side="SELL", quantity=instrument.format_quantity(_quantity(w, symbol)))
        if w.rng.random() < 0.3:
            order["time_in_force"] = "FOK"
        place_valid(w, trader, "market_sell", order)
        return
    order.update(side="BUY", quote_amount=f"{w.rng.randint(20, 600)}.{w.rng.randint(0, 99):02d}")
    if w.rng.random() < 0.3:
        order["quantity"] = instrument.format_quantity(_quantity(w, symbol))  # a cap on the base bought
    place_valid(w, trader, "market_buy_quote", order)


def post_only(w: Worker) -> None:
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    low, high = (-4, -1) if w.rng.random() < 0.6 else (2, 5)  # passive, or through the spread
    order = _limit(w, symbol, side, _price(w, symbol, side, low, high), _quantity(w, symbol), post_only=True)
    place_valid(w, trader, "post_only", order)


def ioc_post_only(w: Worker) -> None:
    """LIMIT + IOC + post_only: intake and engine must agree on it (the checks look for drift)."""
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    order = _limit(
        w,
        symbol,
        side,
        _price(w, symbol, side, -3, 3),
        _quantity(w, symbol),
        time_in_force="IOC",
        post_only=True,
    )
    place(w, trader, "ioc_post_only", order)


def self_cross(w: Worker) -> None:
    """A resting order, then a crossing one from the same account under one STP mode."""
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    price = _price(w, symbol, side, -2, 0)
    place_valid(w, trader, "self_cross_maker", _limit(w, symbol, side, price, _quantity(w, symbol)))
    other = "SELL" if side == "BUY" else "BUY"
    extra = {"stp": w.rng.choice(STP_MODES), "time_in_force": w.rng.choice(("GTC", "IOC"))}
    place_valid(w, trader, "self_cross_taker", _limit(w, symbol, other, price, _quantity(w, symbol), **extra))


def cancel(w: Worker) -> None:
    trader = w.rng.choice(w.traders)
    own = w.recorder.own_orders(trader.account_id)
    if not own:
        return
    order_id = w.rng.choice(own[-30:])
    response = w.recorder.send("DELETE /v1/orders/{id}", lambda: trader.client.cancel_order(order_id))
    status = None if response is None else response.status_code
    w.recorder.expect(
        "cancel answered", status == 202 or body(response).get("code") == "ORDER_NOT_OPEN", str(status)
    )


def cancel_all(w: Worker) -> None:
    trader, symbol = w.rng.choice(w.traders), w.rng.choice(SYMBOLS)
    response = w.recorder.send("DELETE /v1/orders", lambda: trader.client.cancel_all(symbol))
    w.recorder.expect("cancel-all answered", response is not None and response.status_code == 202, "")


def amend_any(w: Worker) -> None:
    trader = w.rng.choice(w.traders)
    own = w.recorder.own_orders(trader.account_id)
    if not own:
        return
    order_id = w.rng.choice(own[-30:])
    order = get_order(w, trader, order_id)
    if order.get("status") not in RESTING or order.get("type") != "LIMIT":
        return
    _amend_one_way(w, trader, order, original_quantity=str(order["quantity"]))


def _amend_one_way(
    w: Worker,
    trader: Trader,
    order: dict[str, Any],
    original_quantity: str,
    *,
    after_partial_fill: bool = False,
) -> None:
    instrument = w.world.instruments[order["symbol"]]
    price = instrument.parse_price(str(order["price"]))
    decimals = instrument.quantity_decimals
    open_quantity = parse_units(str(order["quantity"]), decimals) - parse_units(
        str(order["filled_quantity"]), decimals
    )
    step = STEP[order["symbol"]] * w.rng.randint(1, 2)
    how = w.rng.choice(("price_up", "price_down", "quantity_up", "quantity_down", "quantity_original"))
    if after_partial_fill and w.rng.random() < 0.4:
        how = "quantity_original"  # issue 12's reproduction: open quantity back to the original
    new_price = new_quantity = None
    if how == "price_up":
        new_price = instrument.format_price(price + step)
    elif how == "price_down":
        new_price = instrument.format_price(max(STEP[order["symbol"]], price - step))
    elif how == "quantity_up":
        new_quantity = instrument.format_quantity(open_quantity + w.rng.randint(1, 40))
    elif how == "quantity_down" and open_quantity > 1:
        new_quantity = instrument.format_quantity(w.rng.randint(1, open_quantity - 1))
    else:  # the original quantity as the new open quantity (docs/api.md: quantity = new open quantity)
        new_quantity = original_quantity
    amend(w, trader, str(order["order_id"]), new_price, new_quantity)


def partial_fill_then_amend(w: Worker) -> None:
    """Become the best bid (ask), let another account take part of it, then amend it."""
    maker = w.rng.choice(w.traders)
    taker, symbol, side = w.other(maker), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    book = body(w.recorder.send("GET /v1/book/{symbol}", lambda: maker.client.book(symbol, depth=1)))
    instrument = w.world.instruments[symbol]
    best_bid = [instrument.parse_price(level["price"]) for level in book.get("bids", [])[:1]]
    best_ask = [instrument.parse_price(level["price"]) for level in book.get("asks", [])[:1]]
    tick = instrument.tick_size
    if side == "BUY":
        price = (best_bid[0] + tick) if best_bid else MID[symbol] - STEP[symbol]
        if best_ask and price >= best_ask[0]:
            price = best_ask[0] - tick
    else:
        price = (best_ask[0] - tick) if best_ask else MID[symbol] + STEP[symbol]
        if best_bid and price <= best_bid[0]:
            price = best_bid[0] + tick
    quantity = w.rng.randint(40, QUANTITY[symbol][1])
    order_id = place_valid(w, maker, "partial_maker", _limit(w, symbol, side, price, quantity))
    if order_id is None:
        return
    taken = w.rng.randint(quantity // 4, quantity * 3 // 4)
    other = "SELL" if side == "BUY" else "BUY"
    place_valid(w, taker, "partial_taker", _limit(w, symbol, other, price, taken, time_in_force="IOC"))
    if w.rng.random() < 0.3:
        # Racing the fill: intake's Orders item may not show it yet, the matcher's hold must decide.
        with w.recorder.lock:
            w.recorder.amends_racing_fills += 1
        up = instrument.format_price(price + STEP[symbol]) if side == "BUY" and w.rng.random() < 0.5 else None
        amend(w, maker, order_id, up, instrument.format_quantity(quantity))
        return
    order: dict[str, Any] = {}
    for _ in range(PARTIAL_POLLS):
        order = get_order(w, maker, order_id)
        filled = parse_units(str(order.get("filled_quantity") or "0"), instrument.quantity_decimals)
        if filled or order.get("status") not in ("PENDING", "OPEN"):
            break
        time.sleep(0.3)
    if order.get("status") not in RESTING:
        return
    partial = order.get("status") == "PARTIALLY_FILLED"
    if partial:
        with w.recorder.lock:
            w.recorder.amends_after_partial_fill += 1
    _amend_one_way(w, maker, order, instrument.format_quantity(quantity), after_partial_fill=partial)


def retry(w: Worker) -> None:
    """The same client_order_id and body sent twice: the same order, created once."""
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    order = _limit(
        w, symbol, side, _price(w, symbol, side, -4, 1), _quantity(w, symbol), client_order_id=_coid(w)
    )
    first = place(w, trader, "retry", order)
    second = place(w, trader, "retry", order)
    ids = {body(r).get("order_id") for r in (first, second) if r is not None and r.status_code == 201}
    w.recorder.expect("retry returns the same order", len(ids) == 1, f"{order['client_order_id']}: {ids}")


def concurrent_duplicate(w: Worker) -> None:
    """The same client_order_id and body from two threads at once: one order."""
    trader, symbol, side = w.rng.choice(w.traders), w.rng.choice(SYMBOLS), w.rng.choice(("BUY", "SELL"))
    order = _limit(
        w, symbol, side, _price(w, symbol, side, -4, 1), _quantity(w, symbol), client_order_id=_coid(w)
    )
    clients = [w.world.client_for(trader), w.world.client_for(trader)]
    barrier = threading.Barrier(2)
    answers: list[httpx.Response | None] = [None, None]

    def send(i: int) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with contextlib.suppress(threading.BrokenBarrierError):  # a 429 retry goes alone
                barrier.wait(5)
            return clients[i].place_order(**order)

        return call

    def run(i: int) -> None:
        answers[i] = w.recorder.send("POST /v1/orders", send(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    final = place(w, trader, "concurrent_duplicate", order)  # the answer a client gets by retrying
    ids = {body(r).get("order_id") for r in (*answers, final) if r is not None and r.status_code == 201}
    for r in answers:
        if r is not None and r.status_code == 201:
            place_record = body(r)
            w.recorder.placed(
                Placed(
                    str(place_record["order_id"]),
                    trader.account_id,
                    symbol,
                    side,
                    "concurrent_duplicate",
                    order["client_order_id"],
                )
            )
    statuses = sorted(r.status_code for r in answers if r is not None)
    ok = len(ids) == 1 and all(s in (201, 409) for s in statuses)
    w.recorder.expect(
        "concurrent duplicates make one order", ok, f"{order['client_order_id']}: {statuses} {ids}"
    )


def insufficient_funds(w: Worker) -> None:
    trader = w.rng.choice(w.traders)
    if w.rng.random() < 0.5:
        order = _limit(w, "BTC-USD", "BUY", MID["BTC-USD"], 990_000)  # 99 BTC: ~2.97M USD
    else:
        order = _limit(w, "ETH-USD", "SELL", MID["ETH-USD"], 9_000_000)  # 9,000 ETH
    response = place(w, trader, "insufficient_funds", order)
    got = (None if response is None else response.status_code, body(response).get("code"))
    w.recorder.expect("insufficient funds refused", got == (422, "INSUFFICIENT_FUNDS"), str(got))


def off_grid(w: Worker) -> None:
    trader, side = w.rng.choice(w.traders), w.rng.choice(("BUY", "SELL"))
    if w.rng.random() < 0.5:
        order = {
            "symbol": "BTC-USD",
            "side": side,
            "type": "LIMIT",
            "price": "30000.005",
            "quantity": "0.0100",
        }
        expected = "INVALID_PRICE"
    else:
        order = {"symbol": "ETH-USD", "side": side, "type": "LIMIT", "price": "2000.00", "quantity": "0.0105"}
        expected = "INVALID_QUANTITY"
    response = place(w, trader, "off_grid", order)
    got = (None if response is None else response.status_code, body(response).get("code"))
    w.recorder.expect("off-grid refused", got == (400, expected), f"{order} -> {got}")


SCENARIOS: dict[str, tuple[int, Callable[[Worker], None]]] = {
    "limit_gtc": (24, lambda w: limit_order(w, "GTC")),
    "limit_ioc": (6, lambda w: limit_order(w, "IOC")),
    "limit_fok": (5, lambda w: limit_order(w, "FOK")),
    "market": (8, market_order),
    "post_only": (5, post_only),
    "ioc_post_only": (1, ioc_post_only),
    "self_cross": (6, self_cross),
    "cancel": (8, cancel),
    "cancel_all": (2, cancel_all),
    "amend": (7, amend_any),
    "partial_fill_then_amend": (6, partial_fill_then_amend),
    "retry": (4, retry),
    "concurrent_duplicate": (3, concurrent_duplicate),
    "insufficient_funds": (2, insufficient_funds),
    "off_grid": (3, off_grid),
}


def pick_and_run(w: Worker) -> bool:
    """Run one seeded scenario; False once the request budget is spent."""
    names = list(SCENARIOS)
    name = w.rng.choices(names, weights=[SCENARIOS[n][0] for n in names])[0]
    if not w.recorder.begin(name):
        return False
    SCENARIOS[name][1](w)
    return True
