"""Instruments and the exact integer grids their prices and quantities live on.

Units:
* a **price** is an integer count of ``10**-price_decimals`` quote per one base;
* a **quantity** is an integer count of ``10**-quantity_decimals`` base;
* ``price * quantity`` is a **notional** in ``10**-(price_decimals + quantity_decimals)`` quote;
* balances are integer **atoms** of each asset (``10**-asset.decimals``).

An instrument is only valid when its notional unit and quantity unit are whole numbers of atoms,
so every trade converts to ledger amounts exactly (see :meth:`Instrument.notional_atoms`).
"""

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from trading.domain.enums import InstrumentStatus
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.numbers import NotRepresentableError, ceil_div, format_units, parse_units

AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,9}$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,9}-[A-Z][A-Z0-9]{1,9}$")]
PositiveUnits = Annotated[int, Field(gt=0)]
Decimals = Annotated[int, Field(ge=0, le=18)]
BasisPoints = Annotated[int, Field(ge=0, le=1000)]

BPS_DENOMINATOR = 10_000
# Every amount derived from an order (notional value, fee, hold) is stored in PostgreSQL
# ``bigint`` columns; prices and budgets are bounded so none of them can exceed this.
MAX_STORED_ATOMS = 2**63 - 1


class Instrument(BaseModel):
    """A spot instrument's trading rules. All sizes are integers in the units described above."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: Symbol
    base_asset: AssetCode
    quote_asset: AssetCode
    base_decimals: Decimals
    quote_decimals: Decimals
    price_decimals: Decimals
    quantity_decimals: Decimals
    tick_size: PositiveUnits  # in price units
    lot_size: PositiveUnits  # in quantity units
    min_quantity: PositiveUnits  # in quantity units
    max_quantity: PositiveUnits  # in quantity units
    min_notional: Annotated[int, Field(ge=0)]  # in quote atoms
    maker_fee_bps: BasisPoints = 0
    taker_fee_bps: BasisPoints = 0
    status: InstrumentStatus = InstrumentStatus.TRADING

    @model_validator(mode="after")
    def _grids_are_exact(self) -> Self:
        if self.symbol != f"{self.base_asset}-{self.quote_asset}":
            raise ValueError("symbol must be BASE-QUOTE")
        if self.price_decimals + self.quantity_decimals > self.quote_decimals:
            raise ValueError("price_decimals + quantity_decimals must not exceed quote_decimals")
        if self.quantity_decimals > self.base_decimals:
            raise ValueError("quantity_decimals must not exceed base_decimals")
        if self.min_quantity > self.max_quantity:
            raise ValueError("min_quantity must not exceed max_quantity")
        if self.min_quantity % self.lot_size or self.max_quantity % self.lot_size:
            raise ValueError("min_quantity and max_quantity must be multiples of lot_size")
        return self

    # -- conversions from the API's decimal strings (exact, never rounded) ---------------------

    def parse_price(self, text: str) -> int:
        try:
            price = parse_units(text, self.price_decimals)
        except NotRepresentableError as exc:
            raise DomainError(ErrorCode.INVALID_PRICE, f"price {exc}") from exc
        if price <= 0 or price % self.tick_size:
            raise DomainError(
                ErrorCode.INVALID_PRICE,
                f"price {text} must be a positive multiple of the tick size "
                f"{self.format_price(self.tick_size)}",
            )
        if price > self.max_price:
            raise DomainError(
                ErrorCode.INVALID_PRICE, f"price must be at most {self.format_price(self.max_price)}"
            )
        return price

    def parse_quantity(self, text: str) -> int:
        try:
            quantity = parse_units(text, self.quantity_decimals)
        except NotRepresentableError as exc:
            raise DomainError(ErrorCode.INVALID_QUANTITY, f"quantity {exc}") from exc
        if quantity <= 0 or quantity % self.lot_size:
            raise DomainError(
                ErrorCode.INVALID_QUANTITY,
                f"quantity {text} must be a positive multiple of the lot size "
                f"{self.format_quantity(self.lot_size)}",
            )
        return quantity

    def parse_quote_amount(self, text: str) -> int:
        """A quote budget (market buys) in notional units, exact on the notional grid."""
        try:
            amount = parse_units(text, self.price_decimals + self.quantity_decimals)
        except NotRepresentableError as exc:
            raise DomainError(ErrorCode.INVALID_AMOUNT, f"quote amount {exc}") from exc
        if amount <= 0:
            raise DomainError(ErrorCode.INVALID_AMOUNT, "quote amount must be positive")
        if amount > self.max_quote_amount:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT,
                f"quote amount must be at most {self.format_notional(self.max_quote_amount)}",
            )
        return amount

    @property
    def max_price(self) -> int:
        """The highest price (price units) at which max_quantity's value plus fee fits MAX_STORED_ATOMS."""
        return self._max_notional_units() // self.max_quantity

    @property
    def max_quote_amount(self) -> int:
        """The largest market-buy budget (notional units) whose value plus fee fits MAX_STORED_ATOMS."""
        return self._max_notional_units()

    def _max_notional_units(self) -> int:
        # value + ceil(value * fee / 10^4) <= value * (10^4 + fee) / 10^4 + 1 <= MAX_STORED_ATOMS
        fee_bps = max(self.maker_fee_bps, self.taker_fee_bps)
        max_value_atoms = (MAX_STORED_ATOMS - 1) * BPS_DENOMINATOR // (BPS_DENOMINATOR + fee_bps)
        return max_value_atoms // self.notional_to_quote_atoms

    def format_price(self, price: int) -> str:
        return format_units(price, self.price_decimals)

    def format_quantity(self, quantity: int) -> str:
        return format_units(quantity, self.quantity_decimals)

    def format_notional(self, notional: int) -> str:
        return format_units(notional, self.price_decimals + self.quantity_decimals)

    # -- conversions to ledger atoms -----------------------------------------------------------

    @property
    def notional_to_quote_atoms(self) -> int:
        return int(10 ** (self.quote_decimals - self.price_decimals - self.quantity_decimals))

    @property
    def quantity_to_base_atoms(self) -> int:
        return int(10 ** (self.base_decimals - self.quantity_decimals))

    def notional_atoms(self, price: int, quantity: int) -> int:
        """Exact quote atoms of ``quantity`` at ``price``."""
        return price * quantity * self.notional_to_quote_atoms

    def base_atoms(self, quantity: int) -> int:
        return quantity * self.quantity_to_base_atoms

    @staticmethod
    def fee_atoms(notional_atoms: int, fee_bps: int) -> int:
        """Fees round up to the next atom: the exchange never under-charges by a fraction."""
        return ceil_div(notional_atoms * fee_bps, BPS_DENOMINATOR)

    # -- order rules that do not depend on the book ---------------------------------------------

    def check_quantity(self, quantity: int) -> None:
        if quantity < self.min_quantity:
            raise DomainError(
                ErrorCode.QUANTITY_BELOW_MIN,
                f"quantity must be at least {self.format_quantity(self.min_quantity)}",
            )
        if quantity > self.max_quantity:
            raise DomainError(
                ErrorCode.QUANTITY_ABOVE_MAX,
                f"quantity must be at most {self.format_quantity(self.max_quantity)}",
            )

    def check_notional(self, price: int, quantity: int) -> None:
        if self.notional_atoms(price, quantity) < self.min_notional:
            raise DomainError(
                ErrorCode.NOTIONAL_BELOW_MIN,
                f"order value must be at least {format_units(self.min_notional, self.quote_decimals)} "
                f"{self.quote_asset}",
            )


def demo_instruments() -> list[Instrument]:
    """The instruments the local runtime seeds and the tests use."""
    return [
        Instrument(
            symbol="BTC-USD",
            base_asset="BTC",
            quote_asset="USD",
            base_decimals=8,
            quote_decimals=6,
            price_decimals=2,
            quantity_decimals=4,
            tick_size=1,  # 0.01 USD
            lot_size=1,  # 0.0001 BTC
            min_quantity=1,
            max_quantity=1_000_000,  # 100 BTC
            min_notional=1_000_000,  # 1 USD
            maker_fee_bps=10,
            taker_fee_bps=20,
        ),
        Instrument(
            symbol="ETH-USD",
            base_asset="ETH",
            quote_asset="USD",
            base_decimals=8,
            quote_decimals=6,
            price_decimals=2,
            quantity_decimals=3,
            tick_size=1,
            lot_size=1,  # 0.001 ETH
            min_quantity=1,
            max_quantity=10_000_000,  # 10,000 ETH
            min_notional=1_000_000,
            maker_fee_bps=10,
            taker_fee_bps=20,
        ),
    ]
