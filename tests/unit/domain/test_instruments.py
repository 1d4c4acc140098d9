import pytest
from trading.domain.errors import HTTP_STATUS, DomainError, ErrorCode
from trading.domain.instruments import Instrument, demo_instruments


@pytest.fixture
def btc() -> Instrument:
    return next(i for i in demo_instruments() if i.symbol == "BTC-USD")


def test_prices_on_the_tick_grid_are_exact(btc: Instrument) -> None:
    assert btc.parse_price("30000.50") == 3000050
    assert btc.format_price(3000050) == "30000.50"


@pytest.mark.parametrize("text", ["30000.505", "0", "0.00", "-1", "abc"])
def test_off_grid_or_non_positive_prices_are_invalid(btc: Instrument, text: str) -> None:
    with pytest.raises(DomainError) as err:
        btc.parse_price(text)
    assert err.value.code is ErrorCode.INVALID_PRICE


@pytest.mark.parametrize("text", ["0.00001", "0", "1e-4"])
def test_off_lot_or_zero_quantities_are_invalid(btc: Instrument, text: str) -> None:
    with pytest.raises(DomainError) as err:
        btc.parse_quantity(text)
    assert err.value.code is ErrorCode.INVALID_QUANTITY


def test_notional_and_fees_are_exact_integers(btc: Instrument) -> None:
    # Given 0.1500 BTC at 30000.50 USD (USD has 6 decimals)
    price, quantity = btc.parse_price("30000.50"), btc.parse_quantity("0.1500")
    # Then the notional is 4500.075 USD exactly, in atoms
    notional = btc.notional_atoms(price, quantity)
    assert notional == 4_500_075_000
    # And a 20 bps fee rounds up to the next atom: 9.000150 USD
    assert btc.fee_atoms(notional, btc.taker_fee_bps) == 9_000_150
    assert btc.fee_atoms(1, 20) == 1
    assert btc.base_atoms(quantity) == 15_000_000


def test_quantity_and_notional_limits(btc: Instrument) -> None:
    with pytest.raises(DomainError) as err:
        btc.check_quantity(btc.max_quantity + btc.lot_size)
    assert err.value.code is ErrorCode.QUANTITY_ABOVE_MAX
    with pytest.raises(DomainError) as err:
        btc.check_notional(1, btc.min_quantity)
    assert err.value.code is ErrorCode.NOTIONAL_BELOW_MIN


def test_inconsistent_grids_are_refused() -> None:
    fields = demo_instruments()[0].model_dump()
    btc_fields = {**fields, "price_decimals": 6}
    with pytest.raises(ValueError, match="quote_decimals"):
        Instrument(**btc_fields)


def test_every_error_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert all(400 <= status < 600 for status in HTTP_STATUS.values())
