"""Market data computed from settled trades: candles and the 24h ticker (ints only)."""

from trading.marketdata.candles import INTERVALS, Candle, Ticker, candles, ticker

__all__ = ["INTERVALS", "Candle", "Ticker", "candles", "ticker"]
