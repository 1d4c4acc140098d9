"""The stored shape of an order in DynamoDB ``Orders`` (integers in the instrument's units)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from trading.domain.enums import OrderStatus, OrderType, Side, StpMode, TimeInForce


def utc_now_iso() -> str:
    """ISO-8601 UTC with microseconds: sorts lexically in time order (the GSI's range key)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OrderRecord(BaseModel):
    """One ``Orders`` item. The matcher adds and updates fields; unknown ones are ignored here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: str
    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None = None
    quantity: int | None = None
    quote_budget: int | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    stp: StpMode = StpMode.CANCEL_NEWEST
    client_order_id: str | None = None
    status: OrderStatus = OrderStatus.PENDING
    filled_quantity: int = 0
    hold_asset: str | None = None
    hold_amount: int | None = None
    created_at: str
    updated_at: str
