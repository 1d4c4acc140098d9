"""The available order-book implementations, by name (tests and benchmarks run all of them)."""

import importlib
from importlib.machinery import EXTENSION_SUFFIXES as _SUFFIXES

from trading.engine.engine import BookFactory
from trading.engine.fast_book import FastBook
from trading.engine.reference_book import ReferenceBook

COMPILED_MODULE = "trading.engine._fast_book_compiled"
EXTENSION_SUFFIXES = tuple(_SUFFIXES)


def compiled_fast_book() -> BookFactory | None:
    """The mypyc-compiled fast book when ``make setup`` built it, else ``None``."""
    try:
        module = importlib.import_module(COMPILED_MODULE)
    except ImportError:
        return None
    if not str(getattr(module, "__file__", "")).endswith(EXTENSION_SUFFIXES):
        return None  # the generated source copy without its compiled extension: not compiled
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
