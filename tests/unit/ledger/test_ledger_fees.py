"""Fee assignment: the taker pays the taker rate, the maker the maker rate, rounded up."""

from datetime import UTC, datetime

from trading.domain.enums import Side
from trading.domain.instruments import demo_instruments
from trading.ledger.models import TradeExecuted
from trading.ledger.settlement import fees_for

BTC_USD = demo_instruments()[0]


def _trade(taker_side: Side, price: int = 3_000_000, quantity: int = 5_000) -> TradeExecuted:
    return TradeExecuted(
        symbol="BTC-USD",
        seq=1,
        trade_id="BTC-USD:1",
        price=price,
        quantity=quantity,
        taker_side=taker_side,
        maker_order_id="m",
        taker_order_id="t",
        maker_account_id="ma",
        taker_account_id="ta",
        executed_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


def test_buy_taker_pays_taker_fee_and_seller_maker_fee() -> None:
    # Given a trade where the buyer took liquidity / When fees are computed
    fees = fees_for(_trade(Side.BUY), BTC_USD)
    # Then 20 bps on the buy side, 10 bps on the sell side of 15000 USD
    assert (fees.buyer, fees.seller) == (30_000_000, 15_000_000)


def test_sell_taker_swaps_the_rates() -> None:
    fees = fees_for(_trade(Side.SELL), BTC_USD)
    assert (fees.buyer, fees.seller) == (15_000_000, 30_000_000)


def test_fees_round_up_to_the_next_atom() -> None:
    # Given a tiny trade: 0.0001 BTC at 0.01 USD = 1 atom of notional
    fees = fees_for(_trade(Side.BUY, price=1, quantity=1), BTC_USD)
    # Then each side pays one atom, never zero for a non-zero rate
    assert (fees.buyer, fees.seller) == (1, 1)


def test_buyer_and_seller_follow_the_taker_side() -> None:
    buy = _trade(Side.BUY)
    sell = _trade(Side.SELL)
    assert (buy.buyer_account_id, buy.seller_account_id, buy.buyer_order_id) == ("ta", "ma", "t")
    assert (sell.buyer_account_id, sell.seller_account_id, sell.seller_order_id) == ("ma", "ta", "t")


def test_executed_at_accepts_iso_and_epoch_milliseconds() -> None:
    iso = TradeExecuted.model_validate(
        {**_trade(Side.BUY).model_dump(), "executed_at": "2026-11-25T00:00:00Z"}
    )
    ms = TradeExecuted.model_validate({**_trade(Side.BUY).model_dump(), "executed_at": 1_795_564_800_000})
    assert iso.executed_at == datetime(2026, 11, 25, tzinfo=UTC)
    assert ms.executed_at.tzinfo is UTC
