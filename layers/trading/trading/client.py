"""A signing HTTP client for REST API v1 (tests, the bench and the smoke test use it).

It serialises the body once, hashes those exact bytes, and signs
``timestamp, method, path?canonical-query, body hash`` (docs/adr/0003-request-signing.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from trading.auth import canonical_query, signed_headers


class TradingClient:
    def __init__(
        self,
        base_url: str,
        key_id: str | None = None,
        secret: str | None = None,
        *,
        timeout: float = 10.0,
        clock_ms: Any = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.key_id = key_id
        self.secret = secret
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TradingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw -------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        sign: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request; ``content`` sends raw bytes (e.g. malformed JSON) instead of ``json``."""
        query = canonical_query({k: [str(v)] for k, v in (params or {}).items() if v is not None})
        quoted_path = quote(path, safe="/-_.~")
        target = f"{quoted_path}?{query}" if query else quoted_path
        signed_path = f"{path}?{query}" if query else path  # the server signs the percent-decoded path
        body = content if content is not None else (orjson.dumps(json) if json is not None else b"")
        all_headers = {"Content-Type": "application/json"} if body else {}
        if sign and self.key_id and self.secret:
            all_headers.update(
                signed_headers(
                    key_id=self.key_id,
                    secret=self.secret,
                    method=method,
                    path=signed_path,
                    body=body,
                    timestamp_ms=self._clock_ms(),
                )
            )
        all_headers.update(headers or {})
        return self._http.request(method, target, content=body or None, headers=all_headers)

    # -- API -------------------------------------------------------------------------------------
    def place_order(self, **order: Any) -> httpx.Response:
        return self.request("POST", "/v1/orders", json={k: v for k, v in order.items() if v is not None})

    def cancel_order(self, order_id: str) -> httpx.Response:
        return self.request("DELETE", f"/v1/orders/{order_id}")

    def cancel_all(self, symbol: str) -> httpx.Response:
        return self.request("DELETE", "/v1/orders", params={"symbol": symbol})

    def amend_order(
        self, order_id: str, price: str | None = None, quantity: str | None = None
    ) -> httpx.Response:
        body = {k: v for k, v in {"price": price, "quantity": quantity}.items() if v is not None}
        return self.request("PATCH", f"/v1/orders/{order_id}", json=body)

    def get_order(self, order_id: str) -> httpx.Response:
        return self.request("GET", f"/v1/orders/{order_id}")

    def list_orders(self, **params: Any) -> httpx.Response:
        return self.request("GET", "/v1/orders", params=params)

    def fills(self, **params: Any) -> httpx.Response:
        return self.request("GET", "/v1/fills", params=params)

    def balances(self) -> httpx.Response:
        return self.request("GET", "/v1/balances")

    def instruments(self) -> httpx.Response:
        return self.request("GET", "/v1/instruments", sign=False)

    def book(self, symbol: str, depth: int | None = None) -> httpx.Response:
        return self.request("GET", f"/v1/book/{symbol}", params={"depth": depth}, sign=False)

    def trades(self, symbol: str, limit: int | None = None) -> httpx.Response:
        return self.request("GET", f"/v1/trades/{symbol}", params={"limit": limit}, sign=False)


def decode(response: httpx.Response) -> Any:
    return orjson.loads(response.content)
