"""The available order-book implementations, by name (tests and benchmarks run all of them)."""

import importlib

from trading.engine.engine import BookFactory
from trading.engine.fast_book import FastBook
from trading.engine.reference_book import ReferenceBook

COMPILED_MODULE = "trading.engine._fast_book_compiled"


def compiled_fast_book() -> BookFactory | None:
    """The mypyc-compiled fast book when ``make setup`` built it, else ``None``."""
    try:
        module = importlib.import_module(COMPILED_MODULE)
    except ImportError:
        return None
    factory: BookFactory = module.FastBook
    return factory


def book_implementations() -> dict[str, BookFactory]:
    books: dict[str, BookFactory] = {"reference": ReferenceBook, "fast": FastBook}
    compiled = compiled_fast_book()
    if compiled is not None:
        books["fast-compiled"] = compiled
    return books


def best_book() -> BookFactory:
    """The fastest implementation present: compiled when available, else the pure fast book."""
    return compiled_fast_book() or FastBook
