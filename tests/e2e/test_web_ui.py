"""The web UI (``web/``) in headless Chromium against the local runtime.

The page is loaded from the runtime's REST port, reads its WebSocket URL from ``/config.json``,
signs with WebCrypto and trades through the real API and matcher. Other accounts act through
``trading.client`` over HTTP. Without Chromium the module is skipped, except under CI, where a
missing browser is a failure (``make setup`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from orders_support import Trader, balances, new_trader, wait_for
from playwright.sync_api import Browser, Page, expect, sync_playwright
from trading.auth import canonical_path, sign, signed_headers, ws_string_to_sign
from trading.client import TradingClient, decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SYMBOL = "BTC-USD"
OTHER_SYMBOL = "ETH-USD"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000
ZERO_USD = "0.000000"
LIVE = ("PENDING", "OPEN", "PARTIALLY_FILLED")
# The screenshots docs/web.md references: refreshed with UI_SCREENSHOTS=1, else kept out of the tree
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "images"
    if os.environ.get("UI_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "trading-ui-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _chromium() -> str | None:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = _chromium()
    if path is None:
        if _in_ci():
            pytest.fail("chromium is not installed but CI is set: `make setup` must install it")
        pytest.skip("chromium is not installed (apt-get install chromium, or `make setup` on Debian)")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, local_runtime: Any) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    page_errors: list[str] = []
    opened.on("pageerror", lambda error: page_errors.append(str(error)))
    opened.goto(f"{local_runtime.urls.ui}?symbol={SYMBOL}")
    expect(opened.locator("body")).to_have_attribute("data-ready", "true")
    yield opened
    context.close()
    assert page_errors == [], "the page raised JavaScript errors"


@pytest.fixture
def traders(local_runtime: Any) -> Iterator[list[Trader]]:
    """Fresh funded accounts; whatever they leave resting is canceled afterwards."""
    made: list[Trader] = []
    yield made
    for trader in made:
        for symbol in (SYMBOL, OTHER_SYMBOL):
            trader.client.cancel_all(symbol)
    for trader in made:
        _wait_no_live_orders(trader)


def _wait_no_live_orders(trader: Trader) -> None:
    wait_for(lambda: not _live_orders(trader), timeout_s=30)


def _trader(runtime: Any, made: list[Trader]) -> Trader:
    trader = new_trader(runtime, USD="1000000", BTC="100")
    made.append(trader)
    return trader


def _live_orders(trader: Trader) -> list[dict[str, Any]]:
    response = trader.client.list_orders()
    assert response.status_code == 200, response.text
    return [order for order in decode(response)["orders"] if order["status"] in LIVE]


def _cents(price: str) -> int:
    return int(Decimal(price) * 100)


def _quiet_price(client: TradingClient, symbol: str = SYMBOL) -> str:
    """A price strictly inside the spread: an order there rests alone at the top of its side."""
    book = decode(client.book(symbol, depth=1))
    bid = _cents(book["bids"][0]["price"]) if book["bids"] else None
    ask = _cents(book["asks"][0]["price"]) if book["asks"] else None
    low = bid if bid is not None else (max(ask - 100_000, 100) if ask is not None else 1_000_000)
    high = ask if ask is not None else low + 100_000
    middle = (low + high) // 2
    assert low < middle < high, f"no free price between bid {bid} and ask {ask}"
    return f"{middle // 100}.{middle % 100:02d}"


def _quantity(price: str) -> str:
    """Above the 1 USD minimum notional at any price."""
    return "0.0100" if _cents(price) >= 10_000 else "1.0000"


def _resting(trader: Trader, side: str) -> tuple[str, str]:
    """A limit order at a quiet price, confirmed OPEN: the best of its side, alone at its level."""
    price = _quiet_price(trader.client)
    quantity = _quantity(price)
    placed = trader.client.place_order(symbol=SYMBOL, side=side, type="LIMIT", price=price, quantity=quantity)
    assert placed.status_code == 201, placed.text
    order_id = decode(placed)["order_id"]
    wait_for(lambda: decode(trader.client.get_order(order_id))["status"] == "OPEN")
    return price, quantity


def _use_key(page: Page, key_id: str, secret: str) -> None:
    page.fill("#key-id", key_id)
    page.fill("#key-secret", secret)
    page.click("#key-use")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#book-source")).to_have_attribute("data-source", "websocket")


def _place_from_form(page: Page, *, side: str, price: str, quantity: str) -> None:
    page.select_option("#order-type", "LIMIT")
    page.select_option("#order-side", side)
    page.fill("#order-price", price)
    page.fill("#order-quantity", quantity)
    page.click("#order-submit")


def _last_order_id(page: Page) -> str:
    """The id of the order the form placed last (set when the API's 201 has been read)."""
    form = page.locator("#order-form")
    expect(form).to_have_attribute("data-last-order-id", re.compile(r"\w+"))
    return str(form.get_attribute("data-last-order-id"))


def _trade_of(trader: Trader, order_id: str) -> str:
    """The trade id of the order's (first) fill, once settled."""

    def find() -> str | None:
        fills = decode(trader.client.fills(symbol=SYMBOL))["fills"]
        return next((str(f["trade_id"]) for f in fills if f["order_id"] == order_id), None)

    return str(wait_for(find))


def _usd_hold(price: str, quantity: str, taker_fee_bps: int = 20) -> str:
    """Worst case of a limit buy: price x quantity + taker fee, rounded up to the USD atom."""
    notional = Decimal(price) * Decimal(quantity)
    fee = (notional * taker_fee_bps / Decimal(10_000)).quantize(Decimal("0.000001"), ROUND_CEILING)
    return f"{notional + fee:.6f}"


def test_runtime_serves_the_ui_and_its_websocket_url(local_runtime: Any) -> None:
    # Given the local runtime
    # When the browser's first two requests are made
    index = httpx.get(local_runtime.urls.ui)
    config = httpx.get(f"{local_runtime.urls.rest}/config.json")

    # Then the page is the trading UI and config.json names the runtime's WebSocket server
    assert index.status_code == 200 and 'src="app.js"' in index.text
    assert config.status_code == 200
    assert config.json() == {"ws_url": local_runtime.urls.ws}


def test_browser_signatures_equal_trading_auth(page: Page) -> None:
    # Given a key, a timestamp, a query with repeated and reserved characters, and a body
    key_id, secret, ts = "ak_0123456789abcdef0123", "s3cret/with+chars", 1_764_072_000_123
    params = {"symbol": ["BTC-USD"], "cursor": ["a b/c*d~"], "limit": ["5", "10"]}
    body = '{"symbol":"BTC-USD","price":"30000.50"}'

    # When the page's signing module (WebCrypto) signs the request and a WebSocket connect
    signed = page.evaluate(
        """async ([keyId, secret, ts, params, body]) => {
            const m = await import("/signing.js");
            const signer = await m.Signer.create(keyId, secret);
            const tgt = m.target("/v1/orders", params);
            return {
                target: tgt,
                headers: await signer.headers("POST", tgt, new TextEncoder().encode(body), ts),
                empty: await signer.headers("GET", "/v1/balances", null, ts),
                ws: await signer.wsUrl("ws://127.0.0.1:1/", ts),
            };
        }""",
        [key_id, secret, ts, params, body],
    )

    # Then every header is the one trading.auth computes
    path = canonical_path("/v1/orders", params)
    assert signed["target"] == path
    assert signed["headers"] == signed_headers(
        key_id=key_id, secret=secret, method="POST", path=path, body=body.encode(), timestamp_ms=ts
    )
    assert signed["empty"] == signed_headers(
        key_id=key_id, secret=secret, method="GET", path="/v1/balances", body=None, timestamp_ms=ts
    )
    assert signed["ws"] == f"ws://127.0.0.1:1/?key={key_id}&ts={ts}&sig={sign(secret, ws_string_to_sign(ts))}"


def test_decimal_strings_stay_exact_in_the_browser(page: Page) -> None:
    # Given values a float would get wrong
    # When the page's decimal module compares and multiplies them
    result = page.evaluate(
        """async () => {
            const d = await import("/decimal.js");
            return {
                product: d.multiply("0.1", "0.2"),
                big: d.multiply("12345678901234567.89", "1.0001"),
                sorted: ["30000.5", "9.99", "30000.49", "100"].sort(d.compare),
                same: d.compare("30000.50", "30000.5"),
                canonical: [d.canonical("1.50"), d.canonical("100"), d.canonical("2.000")],
                zero: [d.isZero("0.0000"), d.isZero("0.0001")],
            };
        }"""
    )

    # Then the results are exact
    assert result == {
        "product": "0.02",
        "big": str(Decimal("12345678901234567.89") * Decimal("1.0001")),
        "sorted": ["9.99", "100", "30000.49", "30000.5"],
        "same": 0,
        "canonical": ["1.5", "100", "2"],
        "zero": [True, False],
    }


def test_book_renders_from_the_websocket_snapshot_then_deltas(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given a resting bid placed over HTTP before the page has a key
    maker = _trader(local_runtime, traders)
    price, quantity = _resting(maker, "BUY")

    # When the seeded demo key is entered (the WebSocket needs a signed connect)
    alice = next(key for key in local_runtime.seeded if key.account_id == "alice")
    _use_key(page, alice.key_id, alice.secret)

    # Then the level is in the book the snapshot built
    level = page.locator(f'#book-bids tr[data-price="{price}"]')
    expect(level.locator("td.quantity")).to_have_text(quantity)

    # And when a second order joins the level, a delta updates it live
    again = maker.client.place_order(symbol=SYMBOL, side="BUY", type="LIMIT", price=price, quantity=quantity)
    assert again.status_code == 201, again.text
    expect(level.locator("td.quantity")).to_have_text(f"{Decimal(quantity) * 2:.4f}")
    expect(page.locator("#book-source")).to_have_attribute("data-source", "websocket")


def test_place_and_cancel_from_the_form_holds_and_releases_funds(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given a funded account whose key is entered in the page
    me = _trader(local_runtime, traders)
    _use_key(page, me.key_id, me.secret)
    usd = page.locator('#balances tr[data-asset="USD"]')
    expect(usd.locator("td.available")).to_have_text("1000000.000000")
    expect(usd.locator("td.held")).to_have_text(ZERO_USD)

    # When a limit buy is placed from the form
    price = _quiet_price(me.client)
    quantity = _quantity(price)
    _place_from_form(page, side="BUY", price=price, quantity=quantity)

    # Then it is listed as an open order and its worst case is held
    row = page.locator("#open-orders tr", has_text=price)
    expect(row).to_have_count(1)
    expect(row.locator("td.status")).to_have_text("OPEN")
    hold = _usd_hold(price, quantity)
    expect(usd.locator("td.held")).to_have_text(hold)
    assert balances(me)["USD"][1] == hold
    order_id = row.get_attribute("data-order-id")
    assert order_id is not None and [o["order_id"] for o in _live_orders(me)] == [order_id]

    # And when its cancel button is clicked
    row.locator("button.cancel").click()

    # Then the order leaves the open orders and the hold is released
    expect(page.locator(f'#open-orders tr[data-order-id="{order_id}"]')).to_have_count(0)
    expect(usd.locator("td.held")).to_have_text(ZERO_USD)
    canceled = page.locator(f'#order-events li[data-event="canceled"][data-order-id="{order_id}"]')
    expect(canceled).to_have_count(1)
    assert decode(me.client.get_order(order_id))["status"] == "CANCELED"


def test_a_crossing_order_from_another_account_shows_as_a_trade(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given the page's account has a resting sell placed from the form
    me = _trader(local_runtime, traders)
    other = _trader(local_runtime, traders)
    _use_key(page, me.key_id, me.secret)
    price = _quiet_price(me.client)
    quantity = _quantity(price)
    _place_from_form(page, side="SELL", price=price, quantity=quantity)
    row = page.locator("#open-orders tr", has_text=price)
    expect(row.locator("td.status")).to_have_text("OPEN")
    order_id = row.get_attribute("data-order-id")

    # When another account buys at that price over HTTP
    taker = other.client.place_order(
        symbol=SYMBOL,
        side="BUY",
        type="LIMIT",
        price=price,
        quantity=quantity,
        time_in_force="IOC",
        client_order_id=f"ui-cross-{uuid.uuid4().hex[:8]}",
    )
    assert taker.status_code == 201, taker.text

    # Then the page's order got its fill on the private channel and left the open orders
    expect(page.locator(f'#order-events li[data-event="fill"][data-order-id="{order_id}"]')).to_have_count(1)
    expect(page.locator(f'#open-orders tr[data-order-id="{order_id}"]')).to_have_count(0)
    # And the trade (which happened after the page stopped reading REST) is in the trades list
    assert order_id is not None
    trade = page.locator(f'#trades tr[data-trade-id="{_trade_of(me, order_id)}"]')
    expect(trade.locator("td.price")).to_have_text(price)
    expect(trade.locator("td.quantity")).to_have_text(quantity)
    expect(trade).to_contain_text("BUY")


def test_an_off_grid_price_shows_the_api_error_code(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given a funded account whose key is entered in the page
    me = _trader(local_runtime, traders)
    _use_key(page, me.key_id, me.secret)

    # When a limit order with a price below the 0.01 tick is submitted
    _place_from_form(page, side="BUY", price="100.001", quantity="0.0100")

    # Then the API's code and message are shown, and nothing was placed or held
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "INVALID_PRICE")
    expect(page.locator("#error-code")).to_have_text("INVALID_PRICE")
    expect(page.locator("#error-message")).not_to_be_empty()
    assert _live_orders(me) == []
    assert balances(me)["USD"] == ("1000000.000000", ZERO_USD)


def test_book_follower_buffers_ignores_repeats_and_reports_an_unfilled_gap(page: Page) -> None:
    # Given the page's book follower with a short gap wait
    # When deltas arrive early, repeated, out of order, and finally with a gap that never fills
    result = page.evaluate(
        """async () => {
            const { BookFollower } = await import("/book.js");
            const gaps = [];
            const book = new BookFollower("BTC-USD", () => gaps.push(book.seq), 50);
            const delta = (first, last, changes) => ({ first_seq: first, seq: last, changes });
            const levels = () => ({ bids: book.levels("BUY"), asks: book.levels("SELL") });
            book.delta(delta(11, 12, [["BUY", "10.00", "2.0000"]]));           // overtakes the snapshot
            book.snapshot({ seq: 10, bids: [["9.00", "1.0000"]], asks: [["11.00", "1.0000"]] });
            const afterSnapshot = { seq: book.seq, ...levels() };
            book.delta(delta(12, 12, [["BUY", "10.00", "5.0000"]]));           // repeat: ignored
            book.delta(delta(14, 14, [["SELL", "11.00", "0.0000"]]));          // ahead of 13: held
            const held = book.seq;
            book.delta(delta(13, 13, [["SELL", "12.00", "3.0000"]]));          // fills the gap
            const filled = { seq: book.seq, ...levels() };
            book.delta(delta(20, 21, [["BUY", "8.00", "1.0000"]]));            // 15..19 never come
            await new Promise((resolve) => setTimeout(resolve, 300));
            return { afterSnapshot, held, filled, gaps };
        }"""
    )

    # Then the snapshot absorbed the early delta, the gap inside the wait healed itself,
    # and only the range that never arrived was reported (once)
    assert result["afterSnapshot"] == {
        "seq": 12,
        "bids": [["10.00", "2.0000"], ["9.00", "1.0000"]],
        "asks": [["11.00", "1.0000"]],
    }
    assert result["held"] == 12
    assert result["filled"] == {
        "seq": 14,
        "bids": [["10.00", "2.0000"], ["9.00", "1.0000"]],
        "asks": [["12.00", "3.0000"]],
    }
    assert result["gaps"] == [14]


def test_a_seq_gap_on_the_live_book_resubscribes_for_a_fresh_snapshot(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given the page follows the live book, which has a known resting bid
    price, quantity = _resting(_trader(local_runtime, traders), "BUY")
    alice = next(key for key in local_runtime.seeded if key.account_id == "alice")
    _use_key(page, alice.key_id, alice.secret)
    level = page.locator(f'#book-bids tr[data-price="{price}"]')
    expect(level.locator("td.quantity")).to_have_text(quantity)
    seq = int(page.locator("#book-source").get_attribute("data-seq") or "0")
    snapshots = page.evaluate("window.tradingUi.state.snapshots")

    # When a delta arrives whose range starts far beyond the last seq (the range before it is lost)
    page.evaluate(
        """([seq, symbol]) => window.tradingUi.onMessage({
            type: "delta", channel: `book:${symbol}`, first_seq: seq + 1000, seq: seq + 1000,
            changes: [["BUY", "0.01", "9.0000"]],
        })""",
        [seq, SYMBOL],
    )

    # Then the page resubscribes: a fresh snapshot, without the unverifiable change
    expect(page.locator("#book-resyncs")).to_contain_text("1 resync")
    page.wait_for_function("n => window.tradingUi.state.snapshots > n", arg=snapshots, timeout=WAIT_MS)
    expect(page.locator("#book-source")).to_have_attribute("data-source", "websocket")
    expect(level.locator("td.quantity")).to_have_text(quantity)
    expect(page.locator('#book-bids tr[data-price="0.01"]')).to_have_count(0)


def test_a_market_buy_with_a_budget_from_the_form_takes_the_best_ask(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given another account's sell is the best ask, and the page has a key
    me = _trader(local_runtime, traders)
    price, quantity = _resting(_trader(local_runtime, traders), "SELL")
    _use_key(page, me.key_id, me.secret)

    # When a market buy whose budget is exactly that level's value is sent from the form
    page.select_option("#order-type", "MARKET")
    page.select_option("#order-side", "BUY")
    expect(page.locator("#order-price")).to_be_disabled()
    page.fill("#order-quote", str(Decimal(price) * Decimal(quantity)))
    page.select_option("#order-tif", "IOC")
    page.click("#order-submit")

    # Then the page's order takes liquidity at that price, seen on both channels
    expect(page.locator('#order-events li[data-event="fill"]').first).to_contain_text(f"@ {price} (TAKER)")
    order_id = _last_order_id(page)
    trade = page.locator(f'#trades tr[data-trade-id="{_trade_of(me, order_id)}"]')
    expect(trade.locator("td.price")).to_have_text(price)
    expect(trade).to_contain_text("BUY")
    expect(page.locator("#error")).to_be_hidden()


def test_a_post_only_order_that_would_cross_shows_the_matchers_rejection(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given another account's sell is the best ask, and the page has a key
    me = _trader(local_runtime, traders)
    price, quantity = _resting(_trader(local_runtime, traders), "SELL")
    _use_key(page, me.key_id, me.secret)

    # When a post-only buy at that price is placed from the form (the API accepts it: 201)
    page.check("#order-post-only")
    _place_from_form(page, side="BUY", price=price, quantity=quantity)
    order_id = _last_order_id(page)

    # Then the matcher's rejection arrives on the private channel and is shown with its code
    rejected = page.locator(f'#order-events li[data-event="rejected"][data-order-id="{order_id}"]')
    expect(rejected).to_have_count(1)
    expect(page.locator("#error")).to_have_attribute("data-code", "POST_ONLY_WOULD_CROSS")
    expect(page.locator("#open-orders tr")).to_have_count(0)


def test_a_wrong_secret_shows_unauthenticated_and_no_live_connection(page: Page, local_runtime: Any) -> None:
    # Given a real key id with the wrong secret
    alice = next(key for key in local_runtime.seeded if key.account_id == "alice")

    # When it is entered
    page.fill("#key-id", alice.key_id)
    page.fill("#key-secret", alice.secret + "-wrong")
    page.click("#key-use")

    # Then the signed balance request is refused with the API's code, and the key is not kept or used
    expect(page.locator("#error")).to_have_attribute("data-code", "UNAUTHENTICATED")
    expect(page.locator("#balances tr")).to_have_count(0)
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "no API key")
    assert page.evaluate("() => sessionStorage.length") == 0


def test_the_key_survives_a_reload_in_session_storage_only(page: Page, local_runtime: Any) -> None:
    # Given a key entered in the page
    alice = next(key for key in local_runtime.seeded if key.account_id == "alice")
    _use_key(page, alice.key_id, alice.secret)

    # When the tab reloads
    page.reload()

    # Then it is live again with the same key, which is in sessionStorage and nowhere else
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")
    expect(page.locator('#balances tr[data-asset="USD"]')).to_have_count(1)
    stored = page.evaluate(
        "() => ({session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie})"
    )
    assert stored == {"session": ["trading.apiKey"], "local": 0, "cookie": ""}
    assert alice.secret not in page.url


def test_switching_the_symbol_follows_the_other_book_live(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given a resting ETH-USD bid and the page following BTC-USD live
    maker = _trader(local_runtime, traders)
    price = _quiet_price(maker.client, OTHER_SYMBOL)
    bid = {"symbol": OTHER_SYMBOL, "side": "BUY", "type": "LIMIT", "price": price, "quantity": "0.100"}
    placed = maker.client.place_order(**bid)
    assert placed.status_code == 201, placed.text
    alice = next(key for key in local_runtime.seeded if key.account_id == "alice")
    _use_key(page, alice.key_id, alice.secret)

    # When ETH-USD is chosen
    page.select_option("#symbol", OTHER_SYMBOL)

    # Then the ETH-USD book comes from a WebSocket snapshot, and a later order arrives as a delta
    expect(page.locator("#symbol-title")).to_have_text(OTHER_SYMBOL)
    level = page.locator(f'#book-bids tr[data-price="{price}"]')
    expect(level.locator("td.quantity")).to_have_text("0.100")
    expect(page.locator("#book-source")).to_have_attribute("data-source", "websocket")
    again = maker.client.place_order(**bid)
    assert again.status_code == 201, again.text
    expect(level.locator("td.quantity")).to_have_text("0.200")
    expect(page.locator("#order-quantity-unit")).to_contain_text("ETH")


def _place_paced(trader: Trader, **order: str) -> str:
    """Place one order, waiting out a 429 (a key's steady rate is 10/s, burst 20)."""
    while True:
        placed = trader.client.place_order(**order)
        if placed.status_code != 429:
            assert placed.status_code == 201, placed.text
            return str(decode(placed)["order_id"])
        time.sleep(float(placed.headers.get("Retry-After", "1")))


def test_an_order_older_than_a_hundred_newer_ones_is_listed_and_cancelled(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given two resting bids of mine, then 105 newer IOC buys that cannot fill and are cancelled
    me = _trader(local_runtime, traders)
    _resting(me, "BUY")
    _resting(me, "BUY")
    bids = [o["order_id"] for o in _live_orders_of(me)]
    assert len(bids) == 2
    iocs = [
        _place_paced(
            me, symbol=SYMBOL, side="BUY", type="LIMIT", price="1.00", quantity="1.0000", time_in_force="IOC"
        )
        for _ in range(105)
    ]
    wait_for(lambda: all(order_status_of(me, i) not in LIVE for i in iocs[-5:]), timeout_s=60)
    wait_for(lambda: sorted(o["order_id"] for o in _live_orders_of(me)) == sorted(bids), timeout_s=60)
    # (the newest 100 orders, the page the UI used to filter, hold neither bid)
    newest = decode(me.client.list_orders(limit=100))["orders"]
    assert len(newest) == 100 and not {o["order_id"] for o in newest} & set(bids)

    # When the page has my key
    _use_key(page, me.key_id, me.secret)
    # Then both bids are listed as open orders, and nothing else
    rows = page.locator("#open-orders tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#open-orders-empty")).to_be_hidden()
    oldest = bids[-1]  # newest first: the last is the older bid
    row = page.locator(f'#open-orders tr[data-order-id="{oldest}"]')
    expect(row).to_have_count(1)

    # And when the older one's Cancel is clicked, it is cancelled and leaves the table
    row.locator("button.cancel").click()
    expect(row).to_have_count(0)
    expect(rows).to_have_count(1)
    wait_for(lambda: order_status_of(me, oldest) == "CANCELED")
    page.screenshot(path=str(SCREENSHOTS / "open-orders-after-105-iocs.png"), full_page=True)


def order_status_of(trader: Trader, order_id: str) -> str:
    return str(decode(trader.client.get_order(order_id))["status"])


def _live_orders_of(trader: Trader) -> list[dict[str, Any]]:
    """Every live order, from the server's open index (``open=true``), all pages."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"open": "true", "limit": 200, **({"cursor": cursor} if cursor else {})}
        response = trader.client.list_orders(**params)
        assert response.status_code == 200, response.text
        body = decode(response)
        found.extend(body["orders"])
        cursor = body["next_cursor"]
        if not cursor:
            return found


def test_the_exchange_screen_chart_ticker_depth_tabs_and_toasts(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given another account's resting bid and ask, and the page with my key
    me = _trader(local_runtime, traders)
    other = _trader(local_runtime, traders)
    _resting(other, "BUY")
    ask, quantity = _resting(other, "SELL")
    _use_key(page, me.key_id, me.secret)
    chart = page.locator("#chart")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(page.locator("#ticker-spread")).not_to_have_text("-")

    # Then the book draws depth bars: the best level of each side has a bar
    best_ask = page.locator(f'#book-asks tr[data-price="{ask}"]')
    expect(best_ask).to_have_count(1)
    assert float(str(best_ask.get_attribute("data-depth"))) > 0
    assert "--depth" in str(best_ask.get_attribute("style"))
    # And the cumulative depth chart draws both sides
    depth = page.locator("#depth-chart")
    expect(depth).not_to_have_attribute("data-bids", "0")
    expect(depth).not_to_have_attribute("data-asks", "0")
    assert float(str(depth.get_attribute("data-max-depth"))) >= float(quantity)

    # When I buy the ask from the form
    _place_from_form(page, side="BUY", price=ask, quantity=quantity)
    order_id = _last_order_id(page)

    # Then the trade reaches the ticker header and the chart's newest candle, live
    expect(page.locator("#ticker-last")).to_have_text(ask)
    expect(chart).not_to_have_attribute("data-candles", "0")
    wait_for(lambda: float(str(chart.get_attribute("data-last-close") or "nan")) == float(ask), timeout_s=30)

    # And the fills tab (reached with the keyboard) lists my fill, the history tab my FILLED order
    page.locator("#tab-open").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-history")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pane-history")).to_be_visible()
    page.locator("#account-refresh").click()
    expect(page.locator(f'#order-history tr[data-order-id="{order_id}"] td.status')).to_have_text("FILLED")
    page.locator("#tab-fills").click()
    expect(page.locator("#pane-fills")).to_be_visible()
    fill = page.locator(f'#fills tr[data-order-id="{order_id}"]')
    expect(fill).to_have_count(1)
    expect(fill.locator("td.liquidity")).to_have_text("TAKER")
    page.screenshot(path=str(SCREENSHOTS / "exchange-screen.png"), full_page=True)

    # And another interval reloads the chart from GET /v1/candles
    page.click('#chart-intervals button[data-interval="5m"]')
    expect(chart).to_have_attribute("data-interval", "5m")
    expect(page.locator('#chart-intervals button[data-interval="5m"]')).to_have_attribute(
        "aria-pressed", "true"
    )

    # And an error answer is a toast with the API's code
    _place_from_form(page, side="BUY", price="100.001", quantity="0.0100")
    expect(page.locator('#toasts .toast[data-code="INVALID_PRICE"]')).to_be_visible()

    # And on a narrow screen everything is one column
    page.set_viewport_size({"width": 420, "height": 900})
    expect(page.locator("#chart canvas").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "exchange-screen-narrow.png"), full_page=True)


def test_cancel_all_from_the_open_orders_tab(page: Page, local_runtime: Any, traders: list[Trader]) -> None:
    # Given two resting bids of mine, listed in the page
    me = _trader(local_runtime, traders)
    _resting(me, "BUY")
    _resting(me, "BUY")
    _use_key(page, me.key_id, me.secret)
    expect(page.locator("#open-orders tr")).to_have_count(2)
    # When "Cancel all" is clicked
    page.click("#cancel-all")
    # Then both are cancelled and leave the table
    expect(page.locator("#open-orders tr")).to_have_count(0)
    wait_for(lambda: _live_orders_of(me) == [])


def test_size_buttons_cost_preview_with_fee_and_inline_amend(
    page: Page, local_runtime: Any, traders: list[Trader]
) -> None:
    # Given my key in the page (1,000,000 USD and 100 BTC available)
    me = _trader(local_runtime, traders)
    _use_key(page, me.key_id, me.secret)
    expect(page.locator('#balances tr[data-asset="BTC"] td.available')).to_have_text("100.00000000")

    # When 25% is chosen for a sell, Then the quantity is a quarter of the BTC, on the lot grid
    page.select_option("#order-side", "SELL")
    page.click('#size-shares button[data-share="25"]')
    expect(page.locator("#order-quantity")).to_have_value("25.0000")

    # And for a buy at a price, 100% is the most the USD pays for with the taker fee, on the grid
    price = _quiet_price(me.client)
    page.select_option("#order-side", "BUY")
    page.fill("#order-price", price)
    page.click('#size-shares button[data-share="100"]')
    quantity = page.locator("#order-quantity").input_value()
    worst = Decimal(_usd_hold(price, quantity))
    assert worst <= Decimal("1000000") < Decimal(_usd_hold(price, str(Decimal(quantity) + Decimal("0.0001"))))

    # And the preview shows value + fee (rounded up to the cent's atom) = what is held
    page.fill("#order-quantity", "0.0100")
    value = Decimal(price) * Decimal("0.0100")
    hold = _usd_hold(price, "0.0100")
    expect(page.locator("#order-value")).to_have_text(
        f"value {value} USD + fee up to {Decimal(hold) - value:.6f} = {hold} USD"
    )

    # When that order rests and is amended inline to a lower price
    page.click("#order-submit")
    order_id = _last_order_id(page)
    row = page.locator(f'#open-orders tr[data-order-id="{order_id}"]')
    expect(row.locator("td.status")).to_have_text("OPEN")
    lower = f"{Decimal(price) - Decimal('0.01'):.2f}"
    row.locator("button.amend").click()
    row.locator("input.amend-price").fill(lower)
    row.locator("input.amend-price").press("Enter")
    # Then the matcher applies it and the row shows the new price
    expect(page.locator(f'#open-orders tr[data-order-id="{order_id}"] td.price')).to_have_text(lower)
    assert decode(me.client.get_order(order_id))["price"] == lower
