"""The mypyc-compiled engine modules, when present, must be built from the current sources."""

import hashlib
from pathlib import Path

import pytest
import trading.engine
from trading.engine.implementations import compiled_fast_book

ENGINE = Path(trading.engine.__file__).resolve().parent


def test_compiled_modules_match_their_sources() -> None:
    if compiled_fast_book() is None:
        pytest.skip("engine not compiled (no C compiler or mypyc build skipped): pure Python in use")
    # Given the digest recorded by layers/trading/build_native.py
    recorded = (ENGINE / "_native_sources.txt").read_text().strip()
    # When the sources it compiled are hashed now
    digest = hashlib.sha256()
    for name in (
        "values.py",
        "commands.py",
        "events.py",
        "rules.py",
        "fast_book.py",
        "codec.py",
        "engine.py",
    ):  # build_native.SOURCES
        digest.update((ENGINE / name).read_bytes())
    # Then they are unchanged since the build (else: run `make setup` to rebuild)
    assert recorded == digest.hexdigest(), "compiled engine is stale: run `make setup`"
