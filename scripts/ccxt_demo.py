"""Trade on `make run` through ccxt: place, amend, list, cancel (docs/ccxt.md).

    .venv/bin/python scripts/ccxt_demo.py                 # finds `make run` by its descriptor
    .venv/bin/python scripts/ccxt_demo.py --url http://127.0.0.1:3000 --key ak_... --secret ...

With no key given it uses the first demo key the runtime seeded (``<data-dir>/runtime.json``).
Each step prints one line; the exit code is 0 when every step did what it should.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import ccxt
from trading.admin import local
from trading.ccxt_exchange import TradingExchange

SYMBOL = "BTC/USD"


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    url, key, secret = args.url, args.key, args.secret
    if not (url and key and secret):
        document = local.find(args.local)
        url = url or document["urls"]["rest"]
        demo = (document.get("demo_keys") or [{}])[0]
        key, secret = key or demo.get("key_id"), secret or demo.get("secret")
    if not (key and secret):
        raise SystemExit("no API key: pass --key/--secret (the runtime seeded none)")
    return {"apiKey": key, "secret": secret, "urls": {"api": {"rest": url}}}


def _wait(exchange: TradingExchange, order_id: str, check: Any, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        order = exchange.fetch_order(order_id, SYMBOL)
        if check(order):
            return dict(order)
        if time.monotonic() > deadline:
            raise SystemExit(f"order {order_id} did not reach the expected state: {order['status']}")
        time.sleep(0.2)


def _say(step: str, **fields: Any) -> None:
    print(f"{step:<10} " + json.dumps(fields, default=str))  # noqa: T201 - the script's output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="REST base URL (default: the running runtime's)")
    parser.add_argument("--key", help="API key id (default: the first demo key)")
    parser.add_argument("--secret", help="API key secret")
    parser.add_argument("--local", type=Path, help="data dir of the runtime (default: found)")
    args = parser.parse_args(argv)
    try:
        exchange = TradingExchange(_settings(args))
    except local.LocalRuntimeError as exc:
        print(json.dumps({"code": exc.code, "message": exc.message}), file=sys.stderr)  # noqa: T201
        return 3
    markets = exchange.load_markets()
    market = markets[SYMBOL]
    _say("markets", symbols=sorted(markets), precision=market["precision"], limits=market["limits"]["amount"])
    book = exchange.fetch_order_book(SYMBOL, 5)
    _say("book", bid=book["bids"][:1], ask=book["asks"][:1], nonce=book["nonce"])
    usd = exchange.fetch_balance()["USD"]
    _say("balance", USD=usd)

    # a bid well under the market: it rests, so it can be amended and cancelled
    reference = book["bids"][0][0] if book["bids"] else (book["asks"][0][0] if book["asks"] else 20_000.0)
    price = float(exchange.price_to_precision(SYMBOL, reference * 0.9))
    client_id = f"ccxt-demo-{int(time.time() * 1000)}"
    order = exchange.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": client_id})
    _say("placed", id=order["id"], price=order["price"], amount=order["amount"], status=order["status"])
    order = _wait(exchange, order["id"], lambda o: o["info"]["status"] == "OPEN")
    _say("open", id=order["id"], status=order["info"]["status"])

    lower = float(exchange.price_to_precision(SYMBOL, price * 0.99))
    exchange.edit_order(order["id"], SYMBOL, "limit", "buy", 0.005, lower)
    order = _wait(exchange, order["id"], lambda o: o["price"] == lower and o["amount"] == 0.005)
    _say("amended", id=order["id"], price=order["price"], amount=order["amount"])

    listed = exchange.fetch_open_orders(SYMBOL)
    _say("listed", open=[(o["id"], o["side"], o["price"], o["amount"]) for o in listed])
    if order["id"] not in {o["id"] for o in listed}:
        raise SystemExit("the order is not among the open orders")

    exchange.cancel_order(order["id"], SYMBOL)
    order = _wait(exchange, order["id"], lambda o: o["status"] == "canceled")
    _say("canceled", id=order["id"], status=order["status"])
    closed = exchange.fetch_closed_orders(SYMBOL, limit=5)
    _say("closed", last=[(o["id"], o["status"]) for o in closed[-3:]])

    try:
        exchange.cancel_order(order["id"], SYMBOL)
    except ccxt.OrderNotFound as exc:  # the API's ORDER_NOT_OPEN, mapped by the class
        _say("again", error=type(exc).__name__, message=str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
