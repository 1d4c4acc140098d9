"""Builders of notification-queue message bodies (EventBridge envelopes) for tests."""

from __future__ import annotations

import json
from typing import Any


def envelope(detail_type: str, detail: dict[str, Any], time: str = "2026-11-25T12:00:00Z") -> str:
    return json.dumps(
        {
            "version": "0",
            "id": f"{detail_type}-{detail.get('seq')}",
            "detail-type": detail_type,
            "source": "trading.matcher",
            "account": "123456789012",
            "time": time,
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def book_updated(seq: int, changes: list[tuple[str, int, int]], symbol: str = "BTC-USD"):
    detail: dict[str, Any] = {
        "symbol": symbol,
        "seq": seq,
        "changes": [{"side": s, "price": p, "quantity": q} for s, p, q in changes],
    }
    return envelope("BookUpdated", detail)


def trade_executed(
    seq: int,
    price: int,
    quantity: int,
    *,
    maker: str = "acct-maker",
    taker: str = "acct-taker",
    taker_side: str = "BUY",
    symbol: str = "BTC-USD",
):
    return envelope(
        "TradeExecuted",
        {
            "symbol": symbol,
            "seq": seq,
            "trade_id": f"{symbol}:{seq}",
            "price": price,
            "quantity": quantity,
            "taker_side": taker_side,
            "maker_order_id": f"o-maker-{seq}",
            "taker_order_id": f"o-taker-{seq}",
            "maker_account_id": maker,
            "taker_account_id": taker,
            "executed_at": "2026-11-25T12:00:01.000000Z",
        },
    )


def order_accepted(
    seq: int, account: str, order_id: str, price: int | None = 3000050, symbol: str = "BTC-USD"
):
    return envelope(
        "OrderAccepted",
        {
            "symbol": symbol,
            "seq": seq,
            "order_id": order_id,
            "account_id": account,
            "client_order_id": "c-1",
            "side": "BUY",
            "order_type": "LIMIT",
            "price": price,
            "quantity": 1500,
            "status": "OPEN",
        },
    )
