"""A ccxt exchange class for this exchange (docs/ccxt.md).

ccxt's convention for an exchange it does not ship: subclass :class:`ccxt.Exchange`, describe it
in :meth:`describe`, sign in :meth:`sign`, map errors in :meth:`handle_errors` and implement the
unified methods over :meth:`request`. Use it directly::

    from trading.ccxt_exchange import TradingExchange
    exchange = TradingExchange({"apiKey": key_id, "secret": secret,
                                "urls": {"api": {"rest": "http://127.0.0.1:3000"}}})
    exchange.create_order("BTC/USD", "limit", "buy", 0.01, 30000)

or :func:`register` it so that ``getattr(ccxt, "trading")`` finds it like a built-in exchange.

Signing is the API's (ADR 0003, docs/api.md): ``X-Signature`` = hex ``HMAC-SHA256(SHA-256(secret),
"{ts}\\n{METHOD}\\n{path?canonical query}\\n{hex SHA-256(body)}")``. ccxt's unified structures carry
floats (its convention); what goes to the API is always a decimal string on the instrument's grid
(:meth:`price_to_precision` / :meth:`amount_to_precision`, string arithmetic in ccxt), and the
API's own strings are kept in each structure's ``info``.

``ccxt`` is a development dependency (requirements/dev.txt), not part of the Lambda layer's
runtime: nothing in the service imports this module.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import ccxt  # type: ignore[import-untyped]
from ccxt.base.decimal_to_precision import (  # type: ignore[import-untyped]
    DECIMAL_PLACES,
    NO_PADDING,
    TICK_SIZE,
    TRUNCATE,
)
from ccxt.base.errors import (  # type: ignore[import-untyped]
    ArgumentsRequired,
    AuthenticationError,
    BadRequest,
    BadSymbol,
    DuplicateOrderId,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NotSupported,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

EXCHANGE_ID = "trading"

# The API's error codes (trading.domain.errors.ErrorCode) onto ccxt's unified exceptions
ERROR_CODES: dict[str, type[Exception]] = {
    "MALFORMED_JSON": BadRequest,
    "VALIDATION_ERROR": BadRequest,
    "UNKNOWN_FIELD": BadRequest,
    "INVALID_CURSOR": BadRequest,
    "UNSUPPORTED_MEDIA_TYPE": BadRequest,
    "NOT_FOUND": BadRequest,
    "UNKNOWN_SYMBOL": BadSymbol,
    "INVALID_PRICE": InvalidOrder,
    "INVALID_QUANTITY": InvalidOrder,
    "INVALID_AMOUNT": InvalidOrder,
    "QUANTITY_BELOW_MIN": InvalidOrder,
    "QUANTITY_ABOVE_MAX": InvalidOrder,
    "NOTIONAL_BELOW_MIN": InvalidOrder,
    "PRICE_REQUIRED": InvalidOrder,
    "PRICE_NOT_ALLOWED": InvalidOrder,
    "INVALID_ORDER_TYPE": InvalidOrder,
    "INVALID_AMEND": InvalidOrder,
    "POST_ONLY_WOULD_CROSS": InvalidOrder,
    "FOK_NOT_FILLABLE": InvalidOrder,
    "NO_LIQUIDITY": InvalidOrder,
    "SELF_TRADE_PREVENTED": InvalidOrder,
    "INSTRUMENT_HALTED": InvalidOrder,
    "UNKNOWN_ORDER": OrderNotFound,
    "ORDER_NOT_OPEN": OrderNotFound,
    "DUPLICATE_ORDER_ID": DuplicateOrderId,
    "IDEMPOTENCY_CONFLICT": DuplicateOrderId,
    "UNAUTHENTICATED": AuthenticationError,
    "INVALID_SIGNATURE": AuthenticationError,
    "STALE_REQUEST": AuthenticationError,
    "FORBIDDEN": PermissionDenied,
    "INSUFFICIENT_FUNDS": InsufficientFunds,
    "RATE_LIMITED": RateLimitExceeded,
    "SERVICE_UNAVAILABLE": ExchangeNotAvailable,
    "INTERNAL_ERROR": ExchangeError,
}

ORDER_STATUS = {
    "PENDING": "open",
    "OPEN": "open",
    "PARTIALLY_FILLED": "open",
    "FILLED": "closed",
    "CANCELED": "canceled",
    "REJECTED": "rejected",
}
CLOSED_STATUSES = ("FILLED", "CANCELED", "REJECTED")
PAGE = 200  # the API's largest page of orders
MAX_PAGES = 50  # pages one fetch_*_orders call reads at most


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: dict[str, Any]) -> str:
    """The API's canonical query (sorted by name then value, RFC 3986): it is also the URL's."""
    pairs = sorted((str(k), str(v)) for k, v in params.items() if v is not None)
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)


class TradingExchange(ccxt.Exchange):  # type: ignore[misc]
    """This exchange through ccxt's unified API (spot, limit and market orders)."""

    def describe(self) -> Any:
        return self.deep_extend(
            super().describe(),
            {
                "id": EXCHANGE_ID,
                "name": "Trading (AWS SAM exchange)",
                "countries": [],
                "version": "v1",
                "rateLimit": 100,  # ms between requests: a key's steady 10 requests/s (docs/api.md)
                "certified": False,
                "pro": False,
                "precisionMode": TICK_SIZE,
                "requiredCredentials": {"apiKey": True, "secret": True},
                "urls": {
                    "api": {"rest": "http://127.0.0.1:3000"},  # `make run`; pass your stage URL
                    "www": "http://127.0.0.1:3000/",
                    "doc": ["docs/api.md"],
                },
                "has": {
                    "CORS": None,
                    "spot": True,
                    "margin": False,
                    "swap": False,
                    "future": False,
                    "option": False,
                    "cancelAllOrders": True,
                    "cancelOrder": True,
                    "createOrder": True,
                    "createMarketOrder": True,
                    "createLimitOrder": True,
                    "createMarketBuyOrderWithCost": True,
                    "createPostOnlyOrder": True,
                    "editOrder": True,
                    "fetchBalance": True,
                    "fetchClosedOrders": True,
                    "fetchMarkets": True,
                    "fetchMyTrades": True,
                    "fetchOHLCV": True,
                    "fetchOpenOrders": True,
                    "fetchOrder": True,
                    "fetchOrderBook": True,
                    "fetchTicker": True,
                    "fetchTrades": True,
                    "fetchTime": False,
                    "fetchCurrencies": False,
                },
                "timeframes": {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "4h": "4h", "1d": "1d"},
                "exceptions": {"exact": dict(ERROR_CODES), "broad": {}},
                "options": {"createMarketBuyOrderRequiresPrice": True},
            },
        )

    # -- transport ---------------------------------------------------------------------------------
    def sign(  # noqa: PLR0917 - ccxt calls these positionally
        self,
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: Any = None,
        headers: Any = None,
        body: Any = None,
    ) -> dict[str, Any]:
        params = params or {}
        api_name = api[0] if isinstance(api, list) else api
        query = self.omit(params, self.extract_params(path))
        # path parameters are ids and symbols: [A-Za-z0-9_-], nothing to encode
        request_path = "/" + self.version + "/" + self.implode_params(path, params)
        body_text = ""
        if method in ("GET", "DELETE"):
            text = canonical_query(query)
            if text:
                request_path += "?" + text
        elif query:
            body_text = self.json(query)
        headers = {}
        if body_text:
            headers["Content-Type"] = "application/json"
        if api_name == "private":
            self.check_required_credentials()
            timestamp = str(self.milliseconds())
            body_hash = hashlib.sha256(body_text.encode()).hexdigest()
            message = f"{timestamp}\n{method}\n{request_path}\n{body_hash}"
            key = hashlib.sha256(self.secret.encode()).digest()
            headers.update(
                {
                    "X-API-Key": self.apiKey,
                    "X-Timestamp": timestamp,
                    "X-Content-SHA256": body_hash,
                    "X-Signature": self.hmac(self.encode(message), key, hashlib.sha256),
                }
            )
        url = self.urls["api"]["rest"].rstrip("/") + request_path
        return {"url": url, "method": method, "body": body_text or None, "headers": headers}

    def handle_errors(  # noqa: PLR0917 - ccxt calls these positionally
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Any,
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        """``{"code", "message"}`` -> the unified exception; a body without a code (a gateway's own
        answer) falls through to ccxt's HTTP status mapping (429 RateLimitExceeded, 503 ...)."""
        if not isinstance(response, dict) or code < 400:
            return None
        error_code = self.safe_string(response, "code")
        if error_code is None:
            return None
        feedback = f"{self.id} {error_code} {self.safe_string(response, 'message', '')}".strip()
        self.throw_exactly_matched_exception(self.exceptions["exact"], error_code, feedback)
        raise ExchangeError(feedback)

    # -- markets -----------------------------------------------------------------------------------
    def fetch_markets(self, params: Any = None) -> list[Any]:
        response = self.request("instruments", "public", "GET", params or {})
        return [self.parse_market(i) for i in self.safe_list(response, "instruments", [])]

    def parse_market(self, instrument: dict[str, Any]) -> Any:
        market_id = self.safe_string(instrument, "symbol")
        base_id = self.safe_string(instrument, "base_asset")
        quote_id = self.safe_string(instrument, "quote_asset")
        base, quote_ = self.safe_currency_code(base_id), self.safe_currency_code(quote_id)
        return self.safe_market_structure(
            {
                "id": market_id,
                "symbol": f"{base}/{quote_}",
                "base": base,
                "quote": quote_,
                "settle": None,
                "baseId": base_id,
                "quoteId": quote_id,
                "settleId": None,
                "type": "spot",
                "spot": True,
                "margin": False,
                "swap": False,
                "future": False,
                "option": False,
                "contract": False,
                "active": self.safe_string(instrument, "status") == "TRADING",
                "linear": None,
                "inverse": None,
                "contractSize": None,
                "expiry": None,
                "expiryDatetime": None,
                "strike": None,
                "optionType": None,
                "taker": self.parse_number(Precise_bps(self.safe_string(instrument, "taker_fee_bps", "0"))),
                "maker": self.parse_number(Precise_bps(self.safe_string(instrument, "maker_fee_bps", "0"))),
                "precision": {
                    "amount": self.parse_number(self.safe_string(instrument, "lot_size")),
                    "price": self.parse_number(self.safe_string(instrument, "tick_size")),
                },
                "limits": {
                    "leverage": {"min": None, "max": None},
                    "amount": {
                        "min": self.parse_number(self.safe_string(instrument, "min_quantity")),
                        "max": self.parse_number(self.safe_string(instrument, "max_quantity")),
                    },
                    "price": {
                        "min": self.parse_number(self.safe_string(instrument, "tick_size")),
                        "max": None,
                    },
                    "cost": {
                        "min": self.parse_number(self.safe_string(instrument, "min_notional")),
                        "max": None,
                    },
                },
                "created": None,
                "info": instrument,
            }
        )

    # -- market data -------------------------------------------------------------------------------
    def fetch_ticker(self, symbol: str, params: Any = None) -> Any:
        self.load_markets()
        market = self.market(symbol)
        ticker = self.request(
            "ticker/{symbol}", "public", "GET", self.extend({"symbol": market["id"]}, params or {})
        )
        top = self.request("book/{symbol}", "public", "GET", {"symbol": market["id"], "depth": 1})
        return self.parse_ticker({**ticker, "book": top}, market)

    def parse_ticker(self, ticker: dict[str, Any], market: Any = None) -> Any:
        book = ticker.get("book") or {}
        bids, asks = book.get("bids") or [], book.get("asks") or []
        last_at = self.safe_string(ticker, "last_trade_at")
        timestamp = self.parse8601(self.safe_string(ticker, "window_end"))
        return self.safe_ticker(
            {
                "symbol": market["symbol"] if market else None,
                "timestamp": timestamp,
                "datetime": self.iso8601(timestamp),
                "high": self.safe_string(ticker, "high"),
                "low": self.safe_string(ticker, "low"),
                "bid": self.safe_string(bids[0], "price") if bids else None,
                "bidVolume": self.safe_string(bids[0], "quantity") if bids else None,
                "ask": self.safe_string(asks[0], "price") if asks else None,
                "askVolume": self.safe_string(asks[0], "quantity") if asks else None,
                "vwap": None,
                "open": self.safe_string(ticker, "open"),
                "close": self.safe_string(ticker, "last"),
                "last": self.safe_string(ticker, "last"),
                "previousClose": None,
                "change": self.safe_string(ticker, "change"),
                "percentage": None,
                "average": None,
                "baseVolume": self.safe_string(ticker, "volume"),
                "quoteVolume": self.safe_string(ticker, "quote_volume"),
                "info": {**ticker, "last_trade_at": last_at},
            },
            market,
        )

    def fetch_order_book(self, symbol: str, limit: Any = None, params: Any = None) -> Any:
        self.load_markets()
        market = self.market(symbol)
        request: dict[str, Any] = {"symbol": market["id"]}
        if limit is not None:
            request["depth"] = limit
        response = self.request("book/{symbol}", "public", "GET", self.extend(request, params or {}))
        book = self.parse_order_book(response, market["symbol"], None, "bids", "asks", "price", "quantity")
        book["nonce"] = self.safe_integer(response, "seq")
        return book

    def fetch_trades(self, symbol: str, since: Any = None, limit: Any = None, params: Any = None) -> Any:
        self.load_markets()
        market = self.market(symbol)
        request: dict[str, Any] = {"symbol": market["id"]}
        if limit is not None:
            request["limit"] = min(int(limit), 500)
        response = self.request("trades/{symbol}", "public", "GET", self.extend(request, params or {}))
        return self.parse_trades(self.safe_list(response, "trades", []), market, since, limit)

    def parse_trade(self, trade: dict[str, Any], market: Any = None) -> Any:
        timestamp = self.parse8601(self.safe_string(trade, "executed_at"))
        market_id = self.safe_string(trade, "symbol")
        market = self.safe_market(market_id, market, "-")
        side = self.safe_string_lower_2(trade, "side", "taker_side")
        fee = None
        if self.safe_string(trade, "fee") is not None:
            fee = {"cost": self.safe_string(trade, "fee"), "currency": self.safe_string(trade, "fee_asset")}
        liquidity = self.safe_string_lower(trade, "liquidity")
        return self.safe_trade(
            {
                "id": self.safe_string(trade, "trade_id"),
                "info": trade,
                "timestamp": timestamp,
                "datetime": self.iso8601(timestamp),
                "symbol": market["symbol"],
                "order": self.safe_string(trade, "order_id"),
                "type": None,
                "side": side,
                "takerOrMaker": liquidity,
                "price": self.safe_string(trade, "price"),
                "amount": self.safe_string(trade, "quantity"),
                "cost": None,
                "fee": fee,
            },
            market,
        )

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: Any = None, limit: Any = None, params: Any = None
    ) -> Any:
        self.load_markets()
        market = self.market(symbol)
        request: dict[str, Any] = {
            "symbol": market["id"],
            "interval": self.safe_string(self.timeframes, timeframe, timeframe),
        }
        if limit is not None:
            request["limit"] = min(int(limit), 1000)
        response = self.request("candles/{symbol}", "public", "GET", self.extend(request, params or {}))
        return self.parse_ohlcvs(self.safe_list(response, "candles", []), market, timeframe, since, limit)

    def parse_ohlcv(self, ohlcv: Any, market: Any = None) -> list[Any]:
        return [
            self.safe_integer(ohlcv, "start"),
            self.safe_number(ohlcv, "open"),
            self.safe_number(ohlcv, "high"),
            self.safe_number(ohlcv, "low"),
            self.safe_number(ohlcv, "close"),
            self.safe_number(ohlcv, "volume"),
        ]

    # -- account -----------------------------------------------------------------------------------
    def fetch_balance(self, params: Any = None) -> Any:
        response = self.request("balances", "private", "GET", params or {})
        result: dict[str, Any] = {"info": response}
        for balance in self.safe_list(response, "balances", []):
            account = self.account()
            account["free"] = self.safe_string(balance, "available")
            account["used"] = self.safe_string(balance, "held")
            account["total"] = self.safe_string(balance, "total")
            result[self.safe_currency_code(self.safe_string(balance, "asset"))] = account
        return self.safe_balance(result)

    # -- orders ------------------------------------------------------------------------------------
    def create_order(  # noqa: PLR0917 - ccxt calls these positionally
        self, symbol: str, type: str, side: str, amount: Any, price: Any = None, params: Any = None
    ) -> Any:
        """``params``: ``timeInForce`` (GTC/IOC/FOK, or PO for post-only), ``postOnly``,
        ``clientOrderId``, ``stp`` (CANCEL_NEWEST/CANCEL_OLDEST/CANCEL_BOTH), ``cost`` (the budget of
        a market buy; else ``amount`` x ``price`` when ``createMarketBuyOrderRequiresPrice``)."""
        self.load_markets()
        market = self.market(symbol)
        raw = dict(params or {})
        order_type, order_side = type.upper(), side.upper()
        request: dict[str, Any] = {"symbol": market["id"], "side": order_side, "type": order_type}
        time_in_force = self.safe_string_upper(raw, "timeInForce")
        post_only = self.is_post_only(order_type == "MARKET", time_in_force == "PO", raw)
        if time_in_force == "PO":
            time_in_force = None
        client_order_id = self.safe_string_2(raw, "clientOrderId", "client_order_id")
        stp = self.safe_string_upper(raw, "stp")
        cost = self.safe_string(raw, "cost")
        params = self.omit(
            raw, ["timeInForce", "postOnly", "clientOrderId", "client_order_id", "stp", "cost"]
        )
        if order_type == "LIMIT":
            if price is None:
                raise ArgumentsRequired(f"{self.id} create_order() needs a price for a limit order")
            request["price"] = self.price_to_precision(symbol, price)
            request["quantity"] = self.amount_to_precision(symbol, amount)
        elif order_type == "MARKET":
            if order_side == "BUY":
                budget = cost if cost is not None else self._market_buy_cost(amount, price)
                request["quote_amount"] = self.cost_to_precision(symbol, budget)
                if amount is not None:
                    request["quantity"] = self.amount_to_precision(symbol, amount)  # a cap
            else:
                request["quantity"] = self.amount_to_precision(symbol, amount)
        else:
            raise InvalidOrder(f"{self.id} create_order() supports limit and market orders, not {type}")
        if time_in_force is not None:
            request["time_in_force"] = time_in_force
        if post_only:
            request["post_only"] = True
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        if stp is not None:
            request["stp"] = stp
        response = self.request("orders", "private", "POST", self.extend(request, params))
        return self.parse_order(response, market)

    def _market_buy_cost(self, amount: Any, price: Any) -> str:
        if price is None or amount is None or not self.options.get("createMarketBuyOrderRequiresPrice", True):
            raise InvalidOrder(
                f"{self.id} a market buy needs params['cost'] (the quote budget) or an amount and a price"
            )
        return str(ccxt.Precise.string_mul(self.number_to_string(amount), self.number_to_string(price)))

    def create_market_buy_order_with_cost(self, symbol: str, cost: Any, params: Any = None) -> Any:
        return self.create_order(
            symbol, "market", "buy", None, None, self.extend(params or {}, {"cost": cost})
        )

    def cost_to_precision(self, symbol: str, cost: Any) -> str:
        """A quote amount truncated to the quote asset's decimals (those of ``min_notional``)."""
        market = self.market(symbol)
        notional = self.safe_string(market["info"], "min_notional", "0.000001")
        decimals = len(notional.split(".")[1]) if "." in notional else 0
        return str(self.decimal_to_precision(cost, TRUNCATE, decimals, DECIMAL_PLACES, NO_PADDING))

    def cancel_order(self, id: str, symbol: Any = None, params: Any = None) -> Any:
        response = self.request("orders/{id}", "private", "DELETE", self.extend({"id": id}, params or {}))
        market = self.market(symbol) if symbol is not None and self.markets else None
        return self.safe_order(
            {
                "id": self.safe_string(response, "order_id"),
                "status": self.parse_order_status(self.safe_string(response, "status")),
                "info": response,
            },
            market,
        )

    def cancel_all_orders(self, symbol: Any = None, params: Any = None) -> Any:
        if symbol is None:
            raise ArgumentsRequired(f"{self.id} cancel_all_orders() needs a symbol")
        self.load_markets()
        market = self.market(symbol)
        response = self.request(
            "orders", "private", "DELETE", self.extend({"symbol": market["id"]}, params or {})
        )
        return [
            self.safe_order({"id": order_id, "symbol": market["symbol"], "info": response}, market)
            for order_id in self.safe_list(response, "order_ids", [])
        ]

    def edit_order(  # noqa: PLR0917 - ccxt calls these positionally
        self,
        id: str,
        symbol: str,
        type: Any = None,
        side: Any = None,
        amount: Any = None,
        price: Any = None,
        params: Any = None,
    ) -> Any:
        """Amend the price and/or the open quantity (``PATCH /v1/orders/{id}``); the matcher
        confirms asynchronously (``fetch_order`` shows the result)."""
        self.load_markets()
        market = self.market(symbol)
        request: dict[str, Any] = {"id": id}
        if price is not None:
            request["price"] = self.price_to_precision(symbol, price)
        if amount is not None:
            request["quantity"] = self.amount_to_precision(symbol, amount)
        if "price" not in request and "quantity" not in request:
            raise ArgumentsRequired(f"{self.id} edit_order() needs a price or an amount")
        response = self.request("orders/{id}", "private", "PATCH", self.extend(request, params or {}))
        return self.safe_order(
            {
                "id": self.safe_string(response, "order_id"),
                "symbol": market["symbol"],
                "status": self.parse_order_status(self.safe_string(response, "status")),
                "price": self.safe_string(response, "price"),
                "amount": self.safe_string(response, "quantity"),
                "info": response,
            },
            market,
        )

    def fetch_order(self, id: str, symbol: Any = None, params: Any = None) -> Any:
        self.load_markets()
        response = self.request("orders/{id}", "private", "GET", self.extend({"id": id}, params or {}))
        return self.parse_order(response)

    def fetch_open_orders(
        self, symbol: Any = None, since: Any = None, limit: Any = None, params: Any = None
    ) -> Any:
        self.load_markets()
        return self._orders({"open": "true"}, symbol, since, limit, params)

    def fetch_closed_orders(
        self, symbol: Any = None, since: Any = None, limit: Any = None, params: Any = None
    ) -> Any:
        """FILLED, CANCELED and REJECTED orders (each status read from its own index partition)."""
        self.load_markets()
        found: list[Any] = []
        for status in CLOSED_STATUSES:
            found.extend(self._orders({"status": status}, symbol, since, limit, params))
        found = self.sort_by(found, "timestamp")
        return self.filter_by_symbol_since_limit(found, None, since, limit, True)

    def _orders(self, query: dict[str, Any], symbol: Any, since: Any, limit: Any, params: Any) -> Any:
        request = dict(query)
        market = None
        if symbol is not None:
            market = self.market(symbol)
            request["symbol"] = market["id"]
        raw: list[Any] = []
        cursor = None
        for _ in range(MAX_PAGES):  # newest first: stop at `since` or once `limit` are in hand
            page_request = dict(request, limit=PAGE if limit is None else min(PAGE, int(limit)))
            if cursor:
                page_request["cursor"] = cursor
            response = self.request("orders", "private", "GET", self.extend(page_request, params or {}))
            orders = self.safe_list(response, "orders", [])
            raw.extend(orders)
            cursor = self.safe_string(response, "next_cursor")
            oldest = self.parse8601(self.safe_string(orders[-1], "created_at")) if orders else None
            if cursor is None or (limit is not None and len(raw) >= int(limit)):
                break
            if since is not None and oldest is not None and oldest < since:
                break
        return self.parse_orders(raw, market, since, limit)

    def parse_order_status(self, status: Any) -> Any:
        return self.safe_string(ORDER_STATUS, status, status)

    def parse_order(self, order: dict[str, Any], market: Any = None) -> Any:
        market = self.safe_market(self.safe_string(order, "symbol"), market, "-")
        timestamp = self.parse8601(self.safe_string(order, "created_at"))
        updated = self.parse8601(self.safe_string(order, "updated_at"))
        order_type = self.safe_string_lower(order, "type")
        time_in_force = self.safe_string(order, "time_in_force")
        return self.safe_order(
            {
                "id": self.safe_string(order, "order_id"),
                "clientOrderId": self.safe_string(order, "client_order_id"),
                "info": order,
                "timestamp": timestamp,
                "datetime": self.iso8601(timestamp),
                "lastTradeTimestamp": None,
                "lastUpdateTimestamp": updated,
                "status": self.parse_order_status(self.safe_string(order, "status")),
                "symbol": market["symbol"],
                "type": order_type,
                "timeInForce": time_in_force,
                "postOnly": self.safe_bool(order, "post_only"),
                "side": self.safe_string_lower(order, "side"),
                "price": self.safe_string(order, "price"),
                "triggerPrice": None,
                "amount": self.safe_string(order, "quantity"),
                "cost": None,
                "average": None,
                "filled": self.safe_string(order, "filled_quantity"),
                "remaining": None,
                "fee": None,
                "trades": None,
            },
            market,
        )

    def fetch_my_trades(
        self, symbol: Any = None, since: Any = None, limit: Any = None, params: Any = None
    ) -> Any:
        self.load_markets()
        request: dict[str, Any] = {}
        market = None
        if symbol is not None:
            market = self.market(symbol)
            request["symbol"] = market["id"]
        if limit is not None:
            request["limit"] = min(int(limit), 500)
        response = self.request("fills", "private", "GET", self.extend(request, params or {}))
        return self.parse_trades(self.safe_list(response, "fills", []), market, since, limit)

    def fetch_time(self, params: Any = None) -> Any:
        raise NotSupported(f"{self.id} has no time endpoint")


def Precise_bps(bps: str) -> str:  # noqa: N802 - reads like ccxt's Precise helpers
    """A fee in basis points as a decimal fraction string, exactly (``"20"`` -> ``"0.002"``)."""
    return str(ccxt.Precise.string_div(bps, "10000", 8))


def register() -> type[TradingExchange]:
    """Make the class reachable as ``ccxt.trading`` and listed in ``ccxt.exchanges``."""
    setattr(ccxt, EXCHANGE_ID, TradingExchange)
    if EXCHANGE_ID not in ccxt.exchanges:
        ccxt.exchanges.append(EXCHANGE_ID)
    return TradingExchange
