"""The settle path's input: the ``TradeExecuted`` event detail (docs/architecture.md)."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trading.domain.enums import Side

PositiveInt = Annotated[int, Field(gt=0, strict=True)]


class TradeExecuted(BaseModel):
    """One matcher trade. Unknown extra fields are ignored so the matcher may add some."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    symbol: str
    seq: Annotated[int, Field(ge=0, strict=True)]
    trade_id: str
    price: PositiveInt
    quantity: PositiveInt
    taker_side: Side
    maker_order_id: str
    taker_order_id: str
    maker_account_id: str
    taker_account_id: str
    executed_at: datetime

    @field_validator("executed_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def buyer_account_id(self) -> str:
        return self.taker_account_id if self.taker_side is Side.BUY else self.maker_account_id

    @property
    def seller_account_id(self) -> str:
        return self.maker_account_id if self.taker_side is Side.BUY else self.taker_account_id

    @property
    def buyer_order_id(self) -> str:
        return self.taker_order_id if self.taker_side is Side.BUY else self.maker_order_id

    @property
    def seller_order_id(self) -> str:
        return self.maker_order_id if self.taker_side is Side.BUY else self.taker_order_id
