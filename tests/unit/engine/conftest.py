"""Every engine test runs against every book implementation through the ``book`` fixture."""

import pytest
from trading.engine import BookFactory, MatchingEngine, OrderBook
from trading.engine.implementations import book_implementations

from .helpers import HALTED_INSTRUMENT, INSTRUMENT


@pytest.fixture(params=sorted(book_implementations()))
def book_factory(request: pytest.FixtureRequest) -> BookFactory:
    return book_implementations()[request.param]


@pytest.fixture
def book(book_factory: BookFactory) -> OrderBook:
    return book_factory(INSTRUMENT)


@pytest.fixture
def engine(book_factory: BookFactory) -> MatchingEngine:
    return MatchingEngine([INSTRUMENT, HALTED_INSTRUMENT], book_factory)
