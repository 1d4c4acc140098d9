// The candlestick chart: TradingView lightweight-charts (vendored, web/vendor/, Apache-2.0), seeded
// from GET /v1/candles and kept live from the trades channel. docs/web.md describes it.
import { CandlestickSeries, HistogramSeries, createChart } from "./vendor/lightweight-charts-5.2.1.js";

export const INTERVALS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };
const CANDLES = 300;

// Prices stay decimal strings everywhere else; the chart is a picture and takes numbers.
const num = (text) => Number(text);

export class CandleChart {
  constructor(container, api) {
    this.container = container;
    this.api = api;
    this.symbol = null;
    this.interval = "1m";
    this.last = null; // the newest candle, as the chart has it
    this.count = 0;
    this.loading = 0;
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: "#1a2029" }, textColor: "#d8dee9" },
      grid: { vertLines: { color: "#242c38" }, horzLines: { color: "#242c38" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: "#3fb67a",
      downColor: "#e0565b",
      borderVisible: false,
      wickUpColor: "#3fb67a",
      wickDownColor: "#e0565b",
    });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "" });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  }

  async load(symbol, interval = this.interval) {
    this.symbol = symbol;
    this.interval = interval;
    const ticket = ++this.loading;
    const answer = await this.api("GET", `/v1/candles/${symbol}`, { params: { interval, limit: CANDLES } });
    if (ticket !== this.loading) {
      return; // another symbol or interval was chosen meanwhile
    }
    const bars = answer.candles.map((c) => ({
      time: Math.floor(c.start / 1000),
      open: num(c.open),
      high: num(c.high),
      low: num(c.low),
      close: num(c.close),
      volume: num(c.volume),
    }));
    this.candles.setData(bars.map(({ volume, ...bar }) => bar));
    this.volume.setData(bars.map((b) => ({ time: b.time, value: b.volume, color: this.colour(b) })));
    this.last = bars.length ? bars[bars.length - 1] : null;
    this.count = bars.length;
    this.chart.timeScale().fitContent();
    this.publish();
  }

  // A trade from trades:<symbol>: it updates the newest candle or opens the next one.
  onTrade(trade) {
    if (trade.symbol && trade.symbol !== this.symbol) {
      return;
    }
    const seconds = INTERVALS[this.interval];
    const at = Date.parse(trade.time || trade.executed_at) / 1000;
    if (!Number.isFinite(at)) {
      return;
    }
    const time = Math.floor(at / seconds) * seconds;
    const price = num(trade.price);
    const quantity = num(trade.quantity);
    if (this.last && time < this.last.time) {
      return; // older than the newest candle (a redelivery): the REST candles have it
    }
    if (this.last && this.last.time === time) {
      this.last = {
        ...this.last,
        high: Math.max(this.last.high, price),
        low: Math.min(this.last.low, price),
        close: price,
        volume: this.last.volume + quantity,
      };
    } else {
      this.last = { time, open: price, high: price, low: price, close: price, volume: quantity };
      this.count += 1;
    }
    const { volume, ...bar } = this.last;
    this.candles.update(bar);
    this.volume.update({ time, value: volume, color: this.colour(this.last) });
    this.publish();
  }

  colour(bar) {
    return bar.close >= bar.open ? "rgba(63,182,122,0.5)" : "rgba(224,86,91,0.5)";
  }

  // For tests and the header: what the chart shows, as data attributes of its container.
  publish() {
    this.container.dataset.interval = this.interval;
    this.container.dataset.candles = String(this.count);
    this.container.dataset.lastClose = this.last ? String(this.last.close) : "";
  }
}
