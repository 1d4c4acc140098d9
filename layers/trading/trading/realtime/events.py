"""The matcher's events as ``notify`` receives them: EventBridge envelopes in SQS message bodies.

Only the fields this module uses are modelled; extra fields are ignored so the matcher can add
fields without breaking delivery. Integers are in the instrument's units (see ``architecture.md``).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trading.domain.enums import Side

Units = Annotated[int, Field(ge=0)]


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    symbol: str
    seq: Annotated[int, Field(ge=0)]


class BookChange(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    side: Side
    price: Units
    quantity: Units  # the level's new total; 0 = the level is gone


class BookUpdated(_Detail):
    kind: Literal["BookUpdated"] = "BookUpdated"
    changes: list[BookChange]


class TradeExecuted(_Detail):
    kind: Literal["TradeExecuted"] = "TradeExecuted"
    trade_id: str
    price: Units
    quantity: Units
    taker_side: Side
    maker_order_id: str
    taker_order_id: str
    maker_account_id: str
    taker_account_id: str
    executed_at: str | None = None


class _OrderDetail(_Detail):
    order_id: str
    account_id: str


class OrderAccepted(_OrderDetail):
    kind: Literal["OrderAccepted"] = "OrderAccepted"
    client_order_id: str | None = None
    side: Side | None = None
    order_type: str | None = None
    price: Units | None = None
    quantity: Units | None = None
    status: str | None = None


class OrderRejected(_OrderDetail):
    kind: Literal["OrderRejected"] = "OrderRejected"
    code: str
    message: str | None = None


class OrderCanceled(_OrderDetail):
    kind: Literal["OrderCanceled"] = "OrderCanceled"
    reason: str | None = None
    filled_quantity: Units | None = None
    remaining_quantity: Units | None = None


class OrderAmended(_OrderDetail):
    kind: Literal["OrderAmended"] = "OrderAmended"
    price: Units | None = None
    quantity: Units | None = None


class OrderFilled(_OrderDetail):
    kind: Literal["OrderFilled"] = "OrderFilled"
    filled_quantity: Units | None = None


OrderEvent = OrderAccepted | OrderRejected | OrderCanceled | OrderAmended | OrderFilled
MarketEvent = BookUpdated | TradeExecuted | OrderEvent

DETAIL_MODELS: dict[str, type[MarketEvent]] = {
    model.__name__: model
    for model in (
        BookUpdated,
        TradeExecuted,
        OrderAccepted,
        OrderRejected,
        OrderCanceled,
        OrderAmended,
        OrderFilled,
    )
}


class Envelope(BaseModel):
    """The EventBridge event, as an SQS target receives it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    source: str | None = None
    time: str | None = None
    detail: dict[str, Any]


def parse_event(body: str) -> MarketEvent | None:
    """One SQS message body -> the event, or ``None`` for a detail type notify does not deliver.

    A malformed body or detail raises ``pydantic.ValidationError``.
    """
    envelope = Envelope.model_validate_json(body)
    model = DETAIL_MODELS.get(envelope.detail_type)
    if model is None:
        return None
    detail = dict(envelope.detail)
    detail.pop("kind", None)
    if isinstance(model, type) and issubclass(model, TradeExecuted) and detail.get("executed_at") is None:
        detail["executed_at"] = envelope.time
    return model.model_validate(detail)
