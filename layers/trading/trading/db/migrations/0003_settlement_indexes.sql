-- Settlement and hold release look up an order's settled quantity by order id (either side of a
-- trade); the trade-log export and the market-data reads scan trades by execution time.
CREATE INDEX trades_maker_order ON trades (maker_order_id);
CREATE INDEX trades_taker_order ON trades (taker_order_id);
CREATE INDEX trades_executed_at ON trades (executed_at);
