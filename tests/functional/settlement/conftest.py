"""Fixtures for the settlement functional tests (helpers in ``settlement_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from settlement_support import Funded


@pytest.fixture(autouse=True)
def powertools_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Trading")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "settle")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def funded(db_dsn: str) -> Iterator[Funded]:
    """The accounts and holds the sample events in ``events/settle`` refer to."""
    f = Funded(db_dsn)
    f.account("acct-buyer", USD=50_000_000_000, BTC=100_000_000)
    f.account("acct-seller", BTC=200_000_000, USD=1_000_000_000)
    f.account("acct-empty")
    f.hold("ord-buy-1", "acct-buyer", "USD", 15_080_100_000)
    f.hold("ord-sell-1", "acct-seller", "BTC", 50_000_000)
    f.hold("ord-buy-2", "acct-buyer", "USD", 6_012_000_000)
    f.hold("ord-sell-2", "acct-seller", "BTC", 20_000_000)
    f.hold("ord-buy-3", "acct-buyer", "USD", 3_006_100_000)
    f.hold("ord-sell-3", "acct-seller", "BTC", 10_000_000)
    yield f
    f.conn.close()
